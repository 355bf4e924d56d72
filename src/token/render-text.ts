// The `token` report for people. Claim values come from whoever minted the token, so strings
// with control or bidirectional-override characters are printed escaped: a hostile claim must
// not rewrite the terminal or disguise a username.
import type { UserInfo } from "../authn/user.ts";
import type { DecodedToken } from "./decode.ts";
import { formatDuration } from "./relative-time.ts";
import type { TokenVerdict } from "./verify.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to escape
const unsafe = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const maxValueChars = 300;

/** A value as one safe line. */
export function displayValue(value: unknown): string {
  // JSON.stringify escapes C0 controls but leaves C1 and the bidirectional overrides as they are.
  const text =
    typeof value === "string" && !value.match(unsafe)
      ? value
      : (JSON.stringify(value) ?? String(value)).replace(
          unsafe,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
        );
  return text.length > maxValueChars
    ? `${text.slice(0, maxValueChars)}… (${text.length - maxValueChars} more characters; --output json shows all)`
    : text;
}

function table(rows: [string, string][], indent = "  "): string {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join("\n");
}

export function renderIdentity(user: UserInfo, indent = "  "): string {
  const rows: [string, string][] = [["username", displayValue(user.username)]];
  if (user.uid !== undefined) rows.push(["uid", displayValue(user.uid)]);
  rows.push(["groups", user.groups.length ? user.groups.map(displayValue).join(", ") : "(none)"]);
  for (const [key, values] of Object.entries(user.extra))
    rows.push([`extra ${displayValue(key)}`, values.map(displayValue).join(", ")]);
  return table(rows, indent);
}

export interface TokenReport {
  readonly token: DecodedToken;
  readonly configuration: { readonly source: string; readonly issuers: readonly string[] };
  readonly verdict: TokenVerdict;
}

export function renderTokenReport({ token, configuration, verdict }: TokenReport): string {
  const out: string[] = [];
  out.push(`Token ${token.fingerprint} (SHA-256 prefix; the token itself is never printed)`, "");
  out.push("Header", table(Object.entries(token.header).map(([k, v]) => [displayValue(k), displayValue(v)])), "");
  const times = new Map(token.times.map((t) => [t.claim, t]));
  const claimRows: [string, string][] = Object.entries(token.claims).map(([k, v]) => {
    const time = times.get(k);
    return [displayValue(k), time ? `${displayValue(v)}  ${time.iso}  (${time.relative})` : displayValue(v)];
  });
  if (token.lifetimeMs !== undefined)
    claimRows.push(["(lifetime)", `${formatDuration(token.lifetimeMs)} from iat to exp`]);
  out.push("Claims", table(claimRows), "");

  out.push(`Configuration: ${configuration.source}`);
  if (verdict.issuer) {
    out.push(`  issuer     ${verdict.issuer}`, `  audiences  ${(verdict.audiences ?? []).join(", ")}`);
  } else {
    out.push(`  issuers    ${configuration.issuers.join(", ") || "(none)"}`);
  }
  out.push("");
  if (verdict.discovery) {
    out.push(
      verdict.discovery.ok
        ? "Issuer: discovery document and signing keys fetched"
        : `Issuer: discovery failed: ${verdict.discovery.error}`,
      "",
    );
  }
  if (verdict.accepted && verdict.user) {
    out.push("ACCEPTED: kube-apiserver would authenticate this token as", renderIdentity(verdict.user));
  } else if (verdict.refusal) {
    const r = verdict.refusal;
    out.push(`REFUSED by the ${r.check} check [${r.code}]`, `  ${r.message}`, `  fix: ${r.fix}`);
  }
  if (verdict.gatewayRefusal && verdict.user) {
    const r = verdict.gatewayRefusal;
    out.push(
      "",
      `kube-apiserver would accept this token as ${displayValue(verdict.user.username)}, but the gateway refuses it [${r.code}]: ${displayValue(r.message)}`,
      ...(r.deviation
        ? [`  a deliberate difference: ${r.deviation} (docs/serve.md, "Where the gateway deliberately differs")`]
        : []),
      `  fix: ${r.fix}`,
    );
  }
  if (verdict.notes.length > 0) out.push("", "Notes", ...verdict.notes.map((n) => `  - ${n}`));
  return `${out.join("\n")}\n`;
}
