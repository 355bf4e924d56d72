// kube-apiserver's --oidc-* flags → one JWT authenticator, with kube-apiserver's validation
// (pkg/kubeapiserver/options/authentication.go: validateOIDCOptions, ToAuthenticationConfig).
import { readFileSync } from "node:fs";
import { type JwtAuthenticatorConfig, validSigningAlgorithms } from "../authn/jwt-config.ts";
import { ConfigError, unreadableFile } from "./errors.ts";
import type { FlagValues } from "./flags.ts";

const str = (values: FlagValues, name: string) => (values[name] as string | undefined) ?? "";

export function jwtAuthenticatorFromFlags(values: FlagValues): JwtAuthenticatorConfig {
  const issuerUrl = str(values, "oidc-issuer-url");
  const clientId = str(values, "oidc-client-id");
  if (issuerUrl === "" || clientId === "") {
    throw new ConfigError(
      "OIDC_FLAGS_INCOMPLETE",
      "--oidc-issuer-url and --oidc-client-id must be set together (both are required)",
    );
  }
  let url: URL;
  try {
    url = new URL(issuerUrl);
  } catch {
    throw new ConfigError("OIDC_ISSUER_INVALID", `--oidc-issuer-url: not a URL: ${JSON.stringify(issuerUrl)}`);
  }
  if (url.protocol !== "https:") {
    throw new ConfigError("OIDC_ISSUER_INVALID", `--oidc-issuer-url: URL scheme must be https, got ${url.protocol}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(
      "OIDC_ISSUER_INVALID",
      "--oidc-issuer-url: must not contain user info, a query or a fragment",
    );
  }
  const usernameClaim = str(values, "oidc-username-claim") || "sub";
  // The prefix rule of kube-apiserver (ToAuthenticationConfig, k8s issue #31380): an empty prefix
  // means "<issuer>#" unless the claim is email; "-" means no prefix.
  const rawPrefix = str(values, "oidc-username-prefix");
  const usernamePrefix =
    rawPrefix === "-" ? "" : rawPrefix === "" ? (usernameClaim === "email" ? "" : `${issuerUrl}#`) : rawPrefix;
  const algorithms = (values["oidc-signing-algs"] as string[] | undefined) ?? ["RS256"];
  for (const alg of algorithms) {
    if (!(validSigningAlgorithms as readonly string[]).includes(alg)) {
      throw new ConfigError(
        "OIDC_UNSUPPORTED_ALG",
        `--oidc-signing-algs: oidc: unsupported signing alg: ${JSON.stringify(alg)}`,
      );
    }
  }
  const caFile = str(values, "oidc-ca-file");
  let certificateAuthority: string | undefined;
  if (caFile !== "") {
    try {
      certificateAuthority = readFileSync(caFile, "utf8");
    } catch (error) {
      throw unreadableFile("OIDC_CA_UNREADABLE", "--oidc-ca-file", caFile, error);
    }
    if (!certificateAuthority.includes("-----BEGIN CERTIFICATE-----")) {
      throw new ConfigError("OIDC_CA_UNREADABLE", `--oidc-ca-file: ${caFile} holds no PEM certificate`);
    }
  }
  const groupsClaim = str(values, "oidc-groups-claim");
  return Object.freeze({
    issuer: Object.freeze({ url: issuerUrl, certificateAuthority, audiences: Object.freeze([clientId]) }),
    claimMappings: Object.freeze({
      username: Object.freeze({ claim: usernameClaim, prefix: usernamePrefix }),
      groups: groupsClaim
        ? Object.freeze({ claim: groupsClaim, prefix: str(values, "oidc-groups-prefix") })
        : undefined,
    }),
    requiredClaims: Object.freeze({ ...((values["oidc-required-claim"] as Record<string, string> | undefined) ?? {}) }),
    signingAlgorithms: Object.freeze([...algorithms]),
  });
}
