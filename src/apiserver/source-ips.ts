// The addresses kube-apiserver records as an audit event's sourceIPs: k8s.io/apimachinery@v0.37.2
// pkg/util/net/http.go SourceIPs. Every valid address of the first X-Forwarded-For header, then
// X-Real-Ip unless already listed, then the connection's address unless it is the last one
// listed. Only the last is known to be true: the others are what the client claims, which is how
// kube-apiserver documents the field (audit/v1 Event.SourceIPs), and how the gateway records it.
import { BlockList, isIP, isIPv4, isIPv6 } from "node:net";
import { ConfigError } from "../config/errors.ts";

/**
 * k8s.io/utils/net ParseIPSloppy (Go 1.16's net.ParseIP: IPv4 octets may have leading zeros, read
 * as decimal) and net.IP.String(): the canonical text, or undefined when it is no address.
 */
export function canonicalIp(text: string): string | undefined {
  // Go 1.16's dtoi: any number of digits, leading zeros included, read as decimal up to 255.
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const octets = v4.slice(1).map((digits) => (digits.length > 8 ? 256 : Number(digits)));
    return octets.every((o) => o <= 255) ? octets.join(".") : undefined;
  }
  // Go's parser knows no zones, and reads an embedded IPv4 part sloppily too (Node refuses zeros).
  if (!text.includes(":") || text.includes("%")) return undefined;
  let v6 = text;
  if (!isIPv6(v6)) {
    const embedded = /^(.*:)(\d+(?:\.\d+){3})$/.exec(text);
    const v4part = embedded ? canonicalIp(embedded[2] as string) : undefined;
    if (!embedded || !v4part || !isIPv6(`${embedded[1]}${v4part}`)) return undefined;
    v6 = `${embedded[1]}${v4part}`;
  }
  // The WHATWG URL serializer writes RFC 5952 text (lower case, longest zero run as ::), as Go does;
  // Go writes an IPv4-mapped address as dotted IPv4.
  const host = new URL(`http://[${v6}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const high = Number.parseInt(mapped[1] as string, 16);
    const low = Number.parseInt(mapped[2] as string, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return host;
}

/**
 * Go's http.Header.Get: the first line of a header (`name` in lower case), from Node's raw list
 * (Node's `headers` joins repeated lines, where Go reads the first alone).
 */
export function goHeaderGet(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === name) return rawHeaders[i + 1];
  return undefined;
}

/** The event's sourceIPs from the request's raw headers and the connection's address. */
export function sourceIps(rawHeaders: readonly string[], remoteAddress: string | undefined): string[] {
  const ips: string[] = [];
  const forwardedFor = goHeaderGet(rawHeaders, "x-forwarded-for");
  if (forwardedFor) {
    for (const part of forwardedFor.split(",")) {
      const ip = canonicalIp(part.trim());
      if (ip) ips.push(ip);
    }
  }
  const realIp = goHeaderGet(rawHeaders, "x-real-ip");
  if (realIp) {
    const ip = canonicalIp(realIp);
    if (ip && !ips.includes(ip)) ips.push(ip);
  }
  const remote =
    remoteAddress && (isIPv4(remoteAddress) || isIPv6(remoteAddress)) ? canonicalIp(remoteAddress) : undefined;
  if (remote && ips[ips.length - 1] !== remote) ips.push(remote);
  return ips;
}

/**
 * --trusted-proxies: each entry an address (10.0.0.7, fd00::7) or a CIDR range (10.0.0.0/8,
 * fd00::/8), as one net.BlockList (https://nodejs.org/api/net.html#class-netblocklist), which
 * also matches an IPv4-mapped IPv6 address (::ffff:10.0.0.7, how a dual-stack listener sees an
 * IPv4 client) against IPv4 entries. An entry that is neither is a configuration error that
 * names it and the forms accepted.
 */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const slash = entry.indexOf("/");
    const address = slash === -1 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    const prefixText = slash === -1 ? "" : entry.slice(slash + 1);
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    const maxPrefix = family === 6 ? 128 : 32;
    if (family === 0 || (slash !== -1 && !(prefix <= maxPrefix))) {
      throw new ConfigError(
        "INVALID_FLAG_VALUE",
        `--trusted-proxies: ${JSON.stringify(entry)} is neither an IP address nor a CIDR range (e.g. 10.0.0.7, 10.0.0.0/8, fd00::/8)${
          family === 0 ? "" : `: the prefix length must be 0 to ${maxPrefix}`
        }`,
      );
    }
    const type = family === 6 ? "ipv6" : "ipv4";
    if (slash === -1) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  return list;
}

/** Whether a connection from `address` is one of `trusted`'s. */
export function isTrustedProxy(trusted: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const family = isIP(address);
  return family !== 0 && trusted.check(address, family === 6 ? "ipv6" : "ipv4");
}
