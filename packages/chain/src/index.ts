export * from "./clients";
export * from "./dev-accounts";
export * from "./env";
export * from "./generated/abis";
export * from "./manifest";
