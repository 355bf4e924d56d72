// The user's token read locally, as kubelogin's pkg/jwt/decode.go does: header and claims, never
// printed raw or sent anywhere but the cluster's own endpoints.

import { TokenDecodeError } from "../../token/decode.ts";
import { displayValue } from "../../token/render-text.ts";
import { type Check, fail, pass, skipped } from "../check.ts";

export const tokenDecode: Check = {
  id: "token-decode",
  title: "the token is a readable JWT",
  progress: "decoding the token",
  async run(context) {
    const decoded = await context.decoded();
    if (!decoded)
      return skipped("no token: pass --token-file or --token-env, or a --kubeconfig whose user logs in with OIDC");
    const source = (await context.token())?.source ?? "";
    if (decoded instanceof TokenDecodeError) {
      return fail(
        `the token from ${source} is not a JWT kube-apiserver can read [${decoded.code}]`,
        [decoded.message],
        "pass the OIDC id_token (three base64url parts), not an access token, refresh token or cookie",
      );
    }
    const { header, claims } = decoded;
    const show = (name: string) => `${name}=${displayValue(claims[name])}`;
    return pass(
      `token ${decoded.fingerprint} from ${source}: ${displayValue(header.alg)} signed, issued by ${displayValue(claims.iss)}`,
      [
        `header: ${Object.entries(header)
          .map(([k, v]) => `${displayValue(k)}=${displayValue(v)}`)
          .join(" ")}`,
        `claims: ${["iss", "aud", "sub", "azp"]
          .filter((c) => c in claims)
          .map(show)
          .join(" ")}`,
        `claim names: ${Object.keys(claims).map(displayValue).join(", ")}`,
      ],
    );
  },
};
