export * from "./locks/index.ts";
