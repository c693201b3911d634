export * from "./auth";
export * from "./cohort";
export * from "./dataset";
export * from "./governance";
export * from "./query";
export * from "./query-input";
