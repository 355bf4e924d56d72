// The names kube-oidc-proxy's (and kube-apiserver's) --tls-cipher-suites and --tls-min-version
// take: Go's crypto/tls names, with what Node's OpenSSL calls the same things. One table for the
// configuration's validation and for the listener that applies it.

/**
 * --tls-cipher-suites' Go names (crypto/tls, as k8s.io/component-base@v0.18.0 cli/flag
 * ciphersuites_flag.go `ciphers` lists them for kube-oidc-proxy v0.3.0; the _SHA256 spellings of
 * the ChaCha20 suites are what component-base@v0.37.2 takes) with their OpenSSL names. They
 * choose the TLS 1.0-1.2 suites only: Go does not let TLS 1.3's suites be configured (crypto/tls
 * Config.CipherSuites, "TLS 1.3 ciphersuites are not configurable"), so the gateway keeps
 * OpenSSL's TLS 1.3 suites whatever the flag says, and their Go names are accepted and change
 * nothing, as component-base@v0.37.2 accepts them. RC4 and 3DES are accepted as Go accepts them;
 * Node's OpenSSL 3 does not offer RC4 at all.
 */
export const goCipherSuites: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_RC4_128_SHA: "RC4-SHA",
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: "DES-CBC3-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA: "AES128-SHA",
  TLS_RSA_WITH_AES_256_CBC_SHA: "AES256-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA256: "AES128-SHA256",
  TLS_RSA_WITH_AES_128_GCM_SHA256: "AES128-GCM-SHA256",
  TLS_RSA_WITH_AES_256_GCM_SHA384: "AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: "ECDHE-ECDSA-RC4-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: "ECDHE-RSA-RC4-SHA",
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: "ECDHE-RSA-DES-CBC3-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: "ECDHE-ECDSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: "ECDHE-RSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
};
/** TLS 1.3 suites: accepted, and change nothing (Go does not let them be configured). */
export const goTls13Suites: ReadonlySet<string> = new Set([
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
]);

/** RC4 and 3DES suites: Go names them (and marks them insecure); Node's OpenSSL 3 has neither. */
export const goSuitesNodeLacks: ReadonlySet<string> = new Set(
  Object.keys(goCipherSuites).filter((name) => /_RC4_|_3DES_/.test(name)),
);

export const goTlsVersions = ["VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13"] as const;
