// Sealing: authenticated encryption (JWE, dir + A256GCM) of small payloads, for cookies and
// for session records at rest in the store. Keys are derived from the configured secrets with
// HKDF, one per purpose, so a cookie cannot be replayed as a store record or the reverse. The
// first secret seals; every secret opens, so secrets can be rotated without logging users out.
import { hkdfSync } from "node:crypto";
import { EncryptJWT, jwtDecrypt } from "jose";

export type SealPurpose = "session-cookie" | "login-state" | "session-record";

export class Sealer {
  readonly #keys: readonly Uint8Array[];

  constructor(secrets: readonly string[], purpose: SealPurpose) {
    if (secrets.length === 0) throw new Error("Sealer needs at least one secret");
    this.#keys = secrets.map(
      (secret) => new Uint8Array(hkdfSync("sha256", secret, "kube-oidc-gateway", `seal:${purpose}`, 32)),
    );
  }

  /** Seals `payload`; it opens until `expiresAt` (epoch ms). */
  seal(payload: Record<string, unknown>, expiresAt: number): Promise<string> {
    return new EncryptJWT(payload)
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
      .setExpirationTime(Math.ceil(expiresAt / 1000))
      .encrypt(this.#keys[0] as Uint8Array);
  }

  /** The payload, or undefined when the value is not one of ours, was altered, or has expired. */
  async open(value: string): Promise<Record<string, unknown> | undefined> {
    if (value.length === 0 || value.length > 16_384) return undefined;
    for (const key of this.#keys) {
      try {
        const { payload } = await jwtDecrypt(value, key, { keyManagementAlgorithms: ["dir"] });
        return payload as Record<string, unknown>;
      } catch {
        // Not sealed with this key (rotation), or not valid: try the next one.
      }
    }
    return undefined;
  }
}
