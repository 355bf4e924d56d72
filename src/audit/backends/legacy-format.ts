// The "legacy" audit log line: a port of k8s.io/apiserver@v0.37.2 pkg/audit/format.go
// EventString, one line of %q-quoted fields with kube-apiserver's placeholders for what the event
// lacks ("<none>", "<self>", "<lookup>", "<unknown>", "<deferred>").
import type { AuditEvent, AuditUser } from "../types.ts";
import { goQuote } from "./go-quote.ts";

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/**
 * time.Time.Format(time.RFC3339Nano) of an epoch-microsecond MicroTime in the local zone (Go
 * decodes a MicroTime into time.Local): fraction without trailing zeros, none when zero; "Z" for
 * UTC, else ±hh:mm.
 */
export function rfc3339Nano(epochUs: number): string {
  const ms = Math.floor(epochUs / 1000);
  const d = new Date(ms);
  const micros = (epochUs - ms * 1000 + d.getMilliseconds() * 1000).toString().padStart(6, "0");
  const fraction = micros.replace(/0+$/, "");
  const offset = -d.getTimezoneOffset();
  const zone =
    offset === 0
      ? "Z"
      : `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60), 2)}:${pad(Math.abs(offset) % 60, 2)}`;
  return (
    `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1, 2)}-${pad(d.getDate(), 2)}` +
    `T${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}` +
    `${fraction ? `.${fraction}` : ""}${zone}`
  );
}

/** auditStringSlice: each element %q-quoted, joined by commas (then quoted again by the line). */
const stringSlice = (list: readonly string[]) => list.map(goQuote).join(",");

/** EventString: `<time> AUDIT: id="…" stage="…" … response="<code>"`, without the newline. */
export function eventString(ev: AuditEvent): string {
  const user: AuditUser = ev.user;
  let username = "<none>";
  let groups = "<none>";
  if (user.username) {
    username = user.username;
    if (user.groups && user.groups.length > 0) groups = stringSlice(user.groups);
  }
  let asUser = "<self>";
  let asGroups = "<lookup>";
  if (ev.impersonatedUser) {
    asUser = ev.impersonatedUser.username ?? "";
    // Go tests Groups != nil: an empty list (not omitted) gives "" rather than "<lookup>".
    if (ev.impersonatedUser.groups !== undefined) asGroups = stringSlice(ev.impersonatedUser.groups);
  }
  const namespace = ev.objectRef?.namespace ? ev.objectRef.namespace : "<none>";
  const response = ev.responseStatus ? String(ev.responseStatus.code ?? 0) : "<deferred>";
  const ip = ev.sourceIPs && ev.sourceIPs.length > 0 ? (ev.sourceIPs[0] as string) : "<unknown>";
  return (
    `${rfc3339Nano(ev.requestReceivedTimestampUs)} AUDIT: id=${goQuote(ev.auditID)} stage=${goQuote(ev.stage)} ` +
    `ip=${goQuote(ip)} method=${goQuote(ev.verb)} user=${goQuote(username)} groups=${goQuote(groups)} ` +
    `as=${goQuote(asUser)} asgroups=${goQuote(asGroups)} user-agent=${goQuote(ev.userAgent ?? "")} ` +
    `namespace=${goQuote(namespace)} uri=${goQuote(ev.requestURI)} response="${response}"`
  );
}
