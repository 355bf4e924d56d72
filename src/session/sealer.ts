// Sealing: authenticated encryption (JWE, dir + A256GCM) of small payloads, for cookies and
// for session records at rest in the store. Keys are derived from the configured secrets with
// HKDF, one per purpose, so a cookie cannot be replayed as a store record or the reverse. The
// first secret seals; every secret opens, so secrets can be rotated without logging users out.
// Every session request opens the same cookie and the same stored record again, so what was
// opened is remembered (bounded, and never past the seal's own expiry).
import { hkdfSync } from "node:crypto";
import { EncryptJWT, jwtDecrypt } from "jose";

export type SealPurpose = "session-cookie" | "login-state" | "session-record";

interface Opened {
  readonly payload: Readonly<Record<string, unknown>>;
  readonly until: number;
}

export class Sealer {
  readonly #keys: readonly Uint8Array[];
  readonly #opened = new Map<string, Opened>();
  readonly #maxRemembered: number;

  constructor(secrets: readonly string[], purpose: SealPurpose, maxRemembered = 10_000) {
    this.#maxRemembered = maxRemembered;
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
  async open(value: string): Promise<Readonly<Record<string, unknown>> | undefined> {
    if (value.length === 0 || value.length > 16_384) return undefined;
    const now = Date.now();
    const remembered = this.#opened.get(value);
    if (remembered) {
      if (remembered.until > now) return remembered.payload;
      this.#opened.delete(value);
      return undefined;
    }
    for (const key of this.#keys) {
      try {
        const { payload } = await jwtDecrypt(value, key, { keyManagementAlgorithms: ["dir"] });
        this.#remember(value, Object.freeze(payload as Record<string, unknown>), (payload.exp ?? 0) * 1000);
        return payload as Record<string, unknown>;
      } catch {
        // Not sealed with this key (rotation), or not valid: try the next one.
      }
    }
    return undefined;
  }

  #remember(value: string, payload: Readonly<Record<string, unknown>>, until: number): void {
    if (this.#opened.size >= this.#maxRemembered) {
      // Map iterates in insertion order: drop the oldest entry.
      const oldest = this.#opened.keys().next().value;
      if (oldest !== undefined) this.#opened.delete(oldest);
    }
    this.#opened.set(value, { payload, until });
  }
}
