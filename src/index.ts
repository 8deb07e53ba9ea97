export {};
// Sandbox store (domain stream): stores, PFN mapping, retrying bulk delete, settings.
export * from "./sandbox/index.ts";
