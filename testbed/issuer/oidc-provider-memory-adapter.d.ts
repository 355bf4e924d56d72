// oidc-provider ships its in-memory adapter without type declarations. The test bed's issuers
// are throwaway by design, so that adapter is the right store; naming it explicitly also keeps
// the provider from warning about it on every start.
declare module "oidc-provider/lib/adapters/memory_adapter.js" {
  import type { AdapterConstructor } from "oidc-provider";

  const MemoryAdapter: AdapterConstructor;
  export default MemoryAdapter;
}
