import type { ReadStream } from "node:tty";
import type { JwtAuthenticatorConfig } from "../../authn/jwt-config.ts";
import { ConfigError } from "../../config/errors.ts";
import {
  type FlagSpec,
  type FlagValues,
  formatFlagHelp,
  parseDuration,
  parseFlags,
  valuesFromEnv,
} from "../../config/flags.ts";
import { loadAuthentication } from "../../config/serve-config.ts";
import { serveFlags } from "../../config/serve-flags.ts";
import { decodeToken, TokenDecodeError } from "../../token/decode.ts";
import { readToken, TokenInputError } from "../../token/read-token.ts";
import { renderTokenReport, type TokenReport } from "../../token/render-text.ts";
import { verifyToken } from "../../token/verify.ts";
import type { Command, CommandContext } from "../command.ts";

const input = "Token input (never the command line)";
const output = "Output";

/** kube-apiserver's OIDC settings, exactly as `serve` takes them. */
const authenticationFlags = serveFlags.filter(
  (f) => f.name === "authentication-config" || f.name.startsWith("oidc-") || f.name === "allow-system-identities",
);

export const tokenFlags: readonly FlagSpec[] = [
  {
    name: "token-file",
    type: "string",
    group: input,
    help: "file holding the token; - for standard input (the default)",
  },
  { name: "token-env", type: "string", group: input, help: "name of an environment variable holding the token" },
  ...authenticationFlags,
  { name: "output", short: "o", type: "string", group: output, default: "text", help: "text or json" },
  {
    name: "timeout",
    type: "duration",
    group: output,
    default: "10s",
    help: "how long to wait for the issuer's discovery document and keys",
  },
];

const help = `Usage: kube-oidc-gateway token [flags] < token

Takes a token apart and says what kube-apiserver will make of it: the header and claims with
every time shown absolute and relative ("in 3m12s"), the issuer's discovery and keys fetched
with the configured CA, the signature and claims verified, and then either the identity
(username, uid, groups, extra) kube-apiserver would derive, or the check that refuses the
token, kube-apiserver's own message, and the fix.

The verification is the code 'serve' runs, configured with the same flags as kube-apiserver
(--oidc-*) or its AuthenticationConfiguration file. Without either, the issuer and client id are
taken from the token itself (iss and the first aud) with kube-apiserver's defaults, which
answers "is this token well signed and what would the defaults make of it".

The token is read from standard input, --token-file or --token-env, never from the command
line (where it would land in shell history and process listings). It is never printed: a
SHA-256 prefix identifies it.

Exit status: 0 accepted, 1 refused or unreadable, 2 a usage error. Every command follows this
convention: 0 success, 1 findings or failures, 2 usage errors.

Examples:
  # the id token kubectl's exec plugin (kubelogin) caches
  jq -r .id_token ~/.kube/cache/oidc-login/* | kube-oidc-gateway token \\
    --oidc-issuer-url=https://keycloak.example.com/realms/kube --oidc-client-id=kubernetes \\
    --oidc-username-claim=preferred_username --oidc-username-prefix=oidc: \\
    --oidc-groups-claim=groups --oidc-groups-prefix=oidc:

  # against the API server's own structured configuration, as JSON
  kube-oidc-gateway token --token-env=ID_TOKEN --authentication-config=auth-config.yaml --output=json

${formatFlagHelp(tokenFlags)}`;

class UsageError extends Error {}

/** The authenticators to verify against, and where they came from. */
function configurationFor(
  explicit: FlagValues,
  claims: Record<string, unknown>,
): { jwt: readonly JwtAuthenticatorConfig[]; source: string } {
  if (explicit["authentication-config"]) {
    return {
      jwt: loadAuthentication(explicit, explicit).jwt,
      source: `AuthenticationConfiguration ${explicit["authentication-config"] as string}`,
    };
  }
  if (explicit["oidc-issuer-url"] || explicit["oidc-client-id"]) {
    return { jwt: loadAuthentication(explicit, explicit).jwt, source: "--oidc-* flags" };
  }
  const iss = typeof claims.iss === "string" ? claims.iss : "";
  const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
  if (iss === "" || typeof aud !== "string") {
    throw new UsageError(
      "the token has no string iss and aud to verify against: pass --oidc-issuer-url and --oidc-client-id, or --authentication-config",
    );
  }
  const values = { ...explicit, "oidc-issuer-url": iss, "oidc-client-id": aud };
  return {
    jwt: loadAuthentication(values, values).jwt,
    source: `inferred from the token (--oidc-issuer-url=${iss} --oidc-client-id=${aud}; no configuration was given)`,
  };
}

async function run(args: readonly string[], context: CommandContext): Promise<number> {
  const fail = (message: string) => {
    context.stderr(`kube-oidc-gateway token: ${message}\nRun 'kube-oidc-gateway token --help' for the flags.\n`);
    return 2;
  };
  let explicit: FlagValues;
  try {
    const parsed = parseFlags(tokenFlags, args);
    if (parsed.positionals.length > 0) {
      const looksLikeToken = parsed.positionals.some((p) => p.split(".").length === 3 && p.length > 40);
      return fail(
        looksLikeToken
          ? "a token on the command line lands in shell history and process listings, so it is not read from there: pipe it in, or use --token-file or --token-env (and consider that token exposed)"
          : `token takes no arguments, got ${JSON.stringify(parsed.positionals[0])}`,
      );
    }
    explicit = { ...valuesFromEnv(tokenFlags, context.env), ...parsed.values };
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }
  const format = (explicit.output as string | undefined) ?? "text";
  if (format !== "text" && format !== "json")
    return fail(`--output: expected text or json, got ${JSON.stringify(format)}`);
  const timeoutMs = (explicit.timeout as number | undefined) ?? parseDuration("10s");

  const file = explicit["token-file"] as string | undefined;
  const envName = explicit["token-env"] as string | undefined;
  if (!file && !envName && (context.stdin as Partial<ReadStream>).isTTY) {
    return fail("no token: pipe one in (e.g. `pbpaste | kube-oidc-gateway token`), or use --token-file or --token-env");
  }
  let raw: string;
  try {
    raw = await readToken({ file, envName }, context);
  } catch (error) {
    if (error instanceof TokenInputError) return fail(error.message);
    throw error;
  }

  let report: TokenReport;
  try {
    const token = decodeToken(raw);
    const { jwt, source } = configurationFor(explicit, token.claims);
    const verdict = await verifyToken(raw, jwt, {
      timeoutMs,
      allowSystemIdentities: explicit["allow-system-identities"] === true,
    });
    report = { token, configuration: { source, issuers: jwt.map((j) => j.issuer.url) }, verdict };
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) return fail(error.message);
    if (!(error instanceof TokenDecodeError)) throw error;
    if (format === "json") {
      context.stdout(`${JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2)}\n`);
    } else {
      context.stdout(`Not a token kube-apiserver can read [${error.code}]: ${error.message}\n`);
    }
    return 1;
  }
  context.stdout(format === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderTokenReport(report));
  return report.verdict.accepted ? 0 : 1;
}

export const token: Command = {
  name: "token",
  summary: "decode and verify a token locally and show the identity the API server would see",
  help,
  run,
};
