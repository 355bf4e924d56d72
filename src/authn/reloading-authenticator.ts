// Authentication from an AuthenticationConfiguration file that may change while the gateway
// runs, as kube-apiserver re-reads --authentication-config. A valid edit takes effect once its
// issuers are discovered (so tokens keep working during the switch); an invalid edit is
// reported loudly and the previous configuration keeps serving: authentication never drops.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parseAuthenticationConfiguration } from "../config/authentication-config.ts";
import { Authenticator, type AuthenticatorOptions } from "./authenticator.ts";
import type { JwtAuthenticatorConfig } from "./jwt-config.ts";

export interface ReloadingAuthenticatorOptions extends Omit<AuthenticatorOptions, "jwt"> {
  readonly file: string;
  readonly initial: readonly JwtAuthenticatorConfig[];
  readonly initialText: string;
  readonly onReload?: (ok: boolean, error?: Error) => void;
  readonly intervalMs?: number;
  /** How long a new configuration may take to discover its issuers before it is used anyway. */
  readonly switchTimeoutMs?: number;
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

export class ReloadingAuthenticator {
  readonly #options: ReloadingAuthenticatorOptions;
  #current: Authenticator;
  #digest: string;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;

  constructor(options: ReloadingAuthenticatorOptions) {
    this.#options = options;
    this.#current = new Authenticator({ ...options, jwt: options.initial });
    this.#digest = digest(options.initialText);
  }

  start(): void {
    this.#current.start();
    this.#timer = setInterval(() => void this.#check(), this.#options.intervalMs ?? 2000);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#current.close();
  }

  authenticate(token: string): ReturnType<Authenticator["authenticate"]> {
    return this.#current.authenticate(token);
  }

  notReady(): ReturnType<Authenticator["notReady"]> {
    return this.#current.notReady();
  }

  async #check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      let text: string;
      try {
        text = await readFile(this.#options.file, "utf8");
      } catch (error) {
        this.#options.onReload?.(false, error as Error);
        return;
      }
      const next = digest(text);
      if (next === this.#digest) return;
      this.#digest = next; // report a given broken edit once, not every tick
      let jwt: JwtAuthenticatorConfig[];
      try {
        jwt = parseAuthenticationConfiguration(text, this.#options.file);
      } catch (error) {
        this.#options.onReload?.(false, error as Error);
        return;
      }
      const replacement = new Authenticator({ ...this.#options, jwt });
      replacement.start();
      const deadline = Date.now() + (this.#options.switchTimeoutMs ?? 30_000);
      while (replacement.notReady().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const previous = this.#current;
      this.#current = replacement;
      previous.close();
      this.#options.onReload?.(true);
    } finally {
      this.#checking = false;
    }
  }
}
