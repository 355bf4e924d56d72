// Every check, in the order they run: reachability and trust first, then the token, then what it
// maps to, then what the identity may do, then the surroundings. A root cause therefore fails
// before the checks that only show its symptoms.
import type { Check } from "../check.ts";
import { apiserverOidc } from "./apiserver-oidc.ts";
import { canI } from "./can-i.ts";
import { groupsClaim } from "./groups-claim.ts";
import { impersonationRights } from "./impersonation-rights.ts";
import { inclusterCa } from "./incluster-ca.ts";
import { issAud } from "./iss-aud.ts";
import { issuerTls } from "./issuer-tls.ts";
import { netpath } from "./netpath.ts";
import { probe401 } from "./probe-401.ts";
import { refreshVsLifetime } from "./refresh-vs-lifetime.ts";
import { tokenDecode } from "./token-decode.ts";
import { tokenExpiry } from "./token-expiry.ts";
import { tokenVerify } from "./token-verify.ts";
import { usernameMapping } from "./username-mapping.ts";
import { whoami } from "./whoami.ts";

export const checks: readonly Check[] = [
  apiserverOidc,
  netpath,
  issuerTls,
  tokenDecode,
  tokenExpiry,
  issAud,
  tokenVerify,
  usernameMapping,
  groupsClaim,
  whoami,
  canI,
  impersonationRights,
  inclusterCa,
  refreshVsLifetime,
  probe401,
];
