// The test bed, composed: a throwaway CA, an OpenID provider, the real kube-apiserver that
// trusts it, and kubectl. Tests and `npm run testbed` both start it through `startTestBed`.
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestCA } from "./ca.ts";
import { loginWithCodeFlow, type TokenSet } from "./issuer/code-flow.ts";
import { keyByKid } from "./issuer/keys.ts";
import { clients, type OidcIssuer, startOidcIssuer } from "./issuer/oidc-provider.ts";
import { type MintOptions, mintJwt } from "./issuer/raw-signer.ts";
import { findUser } from "./issuer/users.ts";
import { ensureKeycloak } from "./keycloak/distribution.ts";
import { type Keycloak, keycloakClusterAudience, keycloakUsers, startKeycloak } from "./keycloak/keycloak.ts";
import { keycloakPasswordGrant } from "./keycloak/tokens.ts";
import { type JwtAuthenticator, type KubeApiServer, kubeconfig, startKubeApiServer } from "./kube-apiserver.ts";
import { ensureKubeBinaries, type KubeBinaries } from "./kube-binaries.ts";
import { type KubectlResult, kubectl } from "./kubectl.ts";

/** The bed's issuers, as the API server's authenticators are configured from them. */
export interface BedIssuers {
  readonly oidcProvider: OidcIssuer;
  readonly keycloak?: Keycloak;
  readonly caPem: string;
}

export interface TestBedOptions {
  /** Start kube-apiserver (default true); issuer-only tests leave it off and start in a second. */
  readonly kubeApiServer?: boolean;
  /** Start Keycloak too (default false: a JVM start costs tens of seconds). */
  readonly keycloak?: boolean;
  /**
   * The API server's JWT authenticators, given the bed's issuers. Default: `defaultJwtAuthenticators`.
   * Differential tests pass their own to configure the oracle like the gateway.
   */
  readonly jwt?: (issuers: BedIssuers) => JwtAuthenticator[];
  /** kube-apiserver --oidc-* flags instead of `jwt` (the bed's CA file is at `${dir}/ca.crt`). */
  readonly oidcFlags?: (issuers: BedIssuers & { caFile: string }) => string[];
  readonly log?: (line: string) => void;
  /** Extra redirect URIs (e.g. a gateway's /oauth2/callback) registered for oidc-provider's clients. */
  readonly issuerRedirectUris?: readonly string[];
  /** Post-logout redirect URIs registered for oidc-provider's clients. */
  readonly issuerPostLogoutRedirectUris?: readonly string[];
}

export interface TestBed {
  /** This run's folder (configuration, logs, kubeconfigs); removed by stop(). */
  readonly dir: string;
  readonly ca: TestCA;
  readonly issuer: OidcIssuer;
  /** Present when started with `keycloak: true`. */
  readonly keycloak?: Keycloak;
  /** Present unless started with `kubeApiServer: false`. */
  readonly apiServer?: KubeApiServer;
  readonly binaries?: KubeBinaries;
  /** Logs a test user in through the issuer's code + PKCE flow. */
  login(username: string, client?: { id: string; secret?: string }): Promise<TokenSet>;
  /** Tokens for a Keycloak realm user by password grant (needs `keycloak: true`). */
  keycloakLogin(username: keyof typeof keycloakUsers): Promise<TokenSet>;
  /** Mints a JWT with the raw signer; `kid` picks one of the issuer's published or unpublished keys. */
  mint(options: Omit<MintOptions, "key"> & { kid?: string }): string;
  /** Writes a kubeconfig that sends `token` to the bed's API server (or `server`). */
  kubeconfigFor(token: string, server?: string): Promise<string>;
  /** Runs kubectl as the admin, or with `token` when given. */
  kubectl(args: readonly string[], as?: { token: string; server?: string }, input?: string): Promise<KubectlResult>;
  stop(): Promise<void>;
}

/**
 * The bed's standard authenticators, one per issuer, both for audience `kubernetes`.
 * oidc-provider: username from `email` (so kube-apiserver's email_verified rule applies)
 * without prefix, groups prefixed `oidc:` as in the incident's setup. Keycloak: username from
 * `preferred_username` and groups, both prefixed `keycloak:`.
 */
export function defaultJwtAuthenticators({ oidcProvider, keycloak, caPem }: BedIssuers): JwtAuthenticator[] {
  const authenticators: JwtAuthenticator[] = [
    {
      issuer: { url: oidcProvider.url, certificateAuthority: caPem, audiences: [clients.kubernetes.id] },
      claimMappings: {
        username: { claim: "email", prefix: "" },
        groups: { claim: "groups", prefix: "oidc:" },
      },
    },
  ];
  if (keycloak) {
    authenticators.push({
      issuer: { url: keycloak.issuerUrl, certificateAuthority: caPem, audiences: [keycloakClusterAudience] },
      claimMappings: {
        username: { claim: "preferred_username", prefix: "keycloak:" },
        groups: { claim: "groups", prefix: "keycloak:" },
      },
    });
  }
  return authenticators;
}

export async function startTestBed(options: TestBedOptions = {}): Promise<TestBed> {
  const log = options.log ?? (() => {});
  const dir = await mkdtemp(join(tmpdir(), "kog-testbed-"));
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    stops.length = 0;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ca = await TestCA.create();
    await writeFile(join(dir, "ca.crt"), ca.certPem);
    const issuer = await startOidcIssuer({
      tls: await ca.issueLoopbackServer("oidc-provider"),
      redirectUris: options.issuerRedirectUris,
      postLogoutRedirectUris: options.issuerPostLogoutRedirectUris,
    });
    stops.push(() => issuer.close());
    log(`testbed: oidc-provider issuer at ${issuer.url}`);

    let keycloak: Keycloak | undefined;
    if (options.keycloak) {
      const dist = await ensureKeycloak(log);
      keycloak = await startKeycloak({ dist, ca, dir: join(dir, "keycloak"), log });
      stops.push(() => keycloak?.stop() ?? Promise.resolve());
    }

    let apiServer: KubeApiServer | undefined;
    let binaries: KubeBinaries | undefined;
    if (options.kubeApiServer ?? true) {
      binaries = await ensureKubeBinaries(log);
      apiServer = await startKubeApiServer({
        binaries,
        ca,
        dir: join(dir, "kube-apiserver"),
        jwt: (options.jwt ?? defaultJwtAuthenticators)({ oidcProvider: issuer, keycloak, caPem: ca.certPem }),
        oidcFlags: options.oidcFlags?.({
          oidcProvider: issuer,
          keycloak,
          caPem: ca.certPem,
          caFile: join(dir, "ca.crt"),
        }),
        log,
      });
      stops.push(() => apiServer?.stop() ?? Promise.resolve());
    }

    const kubeconfigFor = async (token: string, server?: string) => {
      if (!apiServer && !server) throw new Error("this test bed runs no kube-apiserver");
      const path = join(
        dir,
        `kubeconfig-${createHash("sha256").update(`${server}\0${token}`).digest("hex").slice(0, 12)}`,
      );
      await writeFile(
        path,
        kubeconfig({ server: server ?? apiServer?.url ?? "", caPem: ca.certPem, user: "user", token }),
        {
          mode: 0o600,
        },
      );
      return path;
    };

    return {
      dir,
      ca,
      issuer,
      keycloak,
      apiServer,
      binaries,
      login: (username, client = clients.kubernetes) => {
        const user = findUser(username);
        if (!user) throw new Error(`no test user ${JSON.stringify(username)}`);
        return loginWithCodeFlow({
          issuerUrl: issuer.url,
          ca: ca.certPem,
          username,
          password: user.password,
          clientId: client.id,
          clientSecret: client.secret,
        });
      },
      keycloakLogin: (username) => {
        if (!keycloak) throw new Error("this test bed runs no Keycloak; start it with keycloak: true");
        return keycloakPasswordGrant({ issuerUrl: keycloak.issuerUrl, ca: ca.certPem }, keycloakUsers[username]);
      },
      mint: ({ kid, ...rest }) => mintJwt({ ...rest, key: kid === undefined ? undefined : keyByKid(issuer.keys, kid) }),
      kubeconfigFor,
      kubectl: async (args, as, input) => {
        if (!binaries || !apiServer) throw new Error("this test bed runs no kube-apiserver");
        const config = as ? await kubeconfigFor(as.token, as.server) : apiServer.adminKubeconfig;
        return kubectl({ kubectl: binaries.kubectl, kubeconfig: config, home: dir }, args, input);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
