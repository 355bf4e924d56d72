// oidc-provider ships its in-memory adapter without type declarations. The test bed's issuers
// are throwaway by design, so that adapter is the right store; creating it through the factory
// (rather than leaving the default) also keeps the provider from warning about it on every start.
declare module "oidc-provider/lib/adapters/memory_adapter.js" {
  import type { AdapterFactory } from "oidc-provider";
  export function createMemoryAdapter(clockToleranceSeconds?: number): AdapterFactory;
}
