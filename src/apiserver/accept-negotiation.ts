// Whether kube-apiserver can answer a request's Accept header with one of its serializers:
// k8s.io/apiserver@v0.37.2 pkg/endpoints/handlers/negotiation/negotiate.go NegotiateMediaTypeOptions
// and acceptMediaTypeOptions with DefaultEndpointRestrictions, over github.com/munnerz/goautoneg's
// ParseAccept, and the serializers of apimachinery's CodecFactory (JSON and protobuf with a
// streaming form, YAML without; CBOR is an alpha feature, off).
//
// It decides what a failed authentication's audit event says: when the Accept header cannot be
// served, WriteObjectNegotiated writes the Unauthorized Status without logging it, and the event
// keeps the failed-authentication filter's message (filters/authn_audit.go getAuthMethods).
const serializers: readonly { readonly type: string; readonly subType: string; readonly streams: boolean }[] = [
  { type: "application", subType: "json", streams: true },
  { type: "application", subType: "yaml", streams: false },
  { type: "application", subType: "vnd.kubernetes.protobuf", streams: true },
];

// goautoneg: strings.TrimFunc with a cutset of the space alone.
const trimSpaces = (text: string) => text.replace(/^ +| +$/g, "");

/** goautoneg nextSplitElement: split at the first separator. */
function split(text: string, separator: string): [string, string] {
  const index = text.indexOf(separator);
  return index === -1 ? [text, ""] : [text.slice(0, index), text.slice(index + 1)];
}

interface Clause {
  readonly type: string;
  readonly subType: string;
  readonly params: ReadonlyMap<string, string>;
}

/** goautoneg ParseAccept, without its sort: whether any clause is acceptable does not depend on order. */
function parseAccept(header: string): Clause[] {
  const clauses: Clause[] = [];
  let remaining = header;
  while (remaining.length > 0) {
    let part: string;
    [part, remaining] = split(remaining, ",");
    part = trimSpaces(part);
    const [mediaRange, paramText] = split(part, ";");
    const [first, rest] = split(mediaRange, "/");
    const type = trimSpaces(first);
    let subType: string;
    if (rest.length === 0) {
      if (type !== "*") continue;
      subType = "*";
    } else {
      const [second, extra] = split(rest, "/");
      if (extra.length > 0) continue;
      subType = trimSpaces(second);
    }
    const params = new Map<string, string>();
    let remainingParams = paramText;
    while (remainingParams.length > 0) {
      let param: string;
      [param, remainingParams] = split(remainingParams, ";");
      const [key, valueAndMore] = split(param, "=");
      if (valueAndMore.length === 0) continue;
      const [value, more] = split(valueAndMore, "=");
      if (more.length !== 0) continue;
      const token = trimSpaces(key);
      if (token !== "q") params.set(token, trimSpaces(value));
    }
    clauses.push({ type, subType, params });
  }
  return clauses;
}

/** acceptMediaTypeOptions under DefaultEndpointRestrictions. */
function acceptable(params: ReadonlyMap<string, string>, streams: boolean): boolean {
  // as, g or v ask for a conversion (a Table, PartialObjectMetadata): not allowed by default.
  if (params.has("as") || params.has("g") || params.has("v")) return false;
  const stream = params.get("stream") ?? "";
  if (stream.length > 0 && (!streams || stream !== "watch")) return false;
  if ((params.get("sv") ?? "").length > 0) return false;
  return true;
}

/** NegotiateOutputMediaType's verdict: false when kube-apiserver answers 406 Not Acceptable. */
export function outputNegotiable(accept: string | undefined): boolean {
  if (!accept) return true;
  for (const clause of parseAccept(accept)) {
    for (const serializer of serializers) {
      const matches =
        (clause.type === serializer.type && (clause.subType === serializer.subType || clause.subType === "*")) ||
        (clause.type === "*" && clause.subType === "*");
      if (matches && acceptable(clause.params, serializer.streams)) return true;
    }
  }
  return false;
}
