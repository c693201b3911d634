export * from "./auth";
export * from "./cohort";
export * from "./dataset";
export * from "./query";
