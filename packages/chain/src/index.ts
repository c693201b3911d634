export * from "./clients";
export * from "./consent";
export * from "./dev-accounts";
export * from "./env";
export * from "./generated/abis";
export * from "./manifest";
export * from "./metadata";
export * from "./relayer";
