// What the checks look at, fetched once and shared: the cluster connection, the API server's and
// the gateway's configuration as the cluster stores it, the token and what it becomes, the RBAC
// bindings. Each fact is computed on first use, so a run that skips a check never pays for its
// facts, and a failure to get one (no permission, no token) is a reason the checks can print.

import { parse as parseYaml } from "yaml";
import type { JwtAuthenticatorConfig } from "../authn/jwt-config.ts";
import { ConfigError } from "../config/errors.ts";
import { parseFlags } from "../config/flags.ts";
import { jwtAuthenticatorFromFlags } from "../config/oidc-flags.ts";
import { serveFlags } from "../config/serve-flags.ts";
import { type DecodedToken, decodeToken, TokenDecodeError } from "../token/decode.ts";
import { type TokenVerdict, verifyToken } from "../token/verify.ts";
import { kubeconfigUser, Upstream } from "../upstream/cluster.ts";
import { argvOf, type ContainerFlags, flagsOf } from "./container-flags.ts";
import { execConfigOf, execCredentialToken } from "./exec-credential.ts";
import { type JsonResponse, requestJson, statusMessage } from "./http.ts";
import type { DoctorOptions } from "./options.ts";
import { type Workload, workloadsIn } from "./workloads.ts";

/** A fact that could not be had, and why. */
export interface Unavailable {
  readonly unavailable: string;
}

export const isUnavailable = (value: unknown): value is Unavailable =>
  typeof value === "object" && value !== null && "unavailable" in value;

/**
 * Why doctor could not verify a token locally when its own discovery failed only because it
 * lacks the server's CA bundle (OidcConfiguration.caUnknown): the system roots stood in and did
 * not verify. Not issuer-tls's or netpath's finding, which may well pass.
 */
export function unknownBundleReason(oidc: OidcConfiguration): string {
  const hop = oidc.atApiServer ? "the API server" : "the gateway";
  return `doctor does not know the CA bundle ${hop} trusts for the issuer, and the system roots it used instead do not verify the issuer: pass the contents of ${hop}'s --oidc-ca-file with --oidc-ca-file to check this locally`;
}

export interface OidcConfiguration {
  readonly jwt: readonly JwtAuthenticatorConfig[];
  /** Where it was read: flags given to doctor, the kube-apiserver Pod, a gateway Deployment. */
  readonly source: string;
  /** Whether the API server itself validates these tokens (false: a gateway does). */
  readonly atApiServer: boolean;
  /**
   * Whether doctor does not know the CA bundle that server trusts for the issuer: --oidc-* flags
   * given without --oidc-ca-file (the server's own flags may well name one), or a Pod's
   * --oidc-ca-file whose contents doctor was not given. The system roots then stand in, and
   * what they fail to verify is no proof against the server (issuer-tls).
   */
  readonly caUnknown: boolean;
  /** Where doctor's picture came from, for messages: "doctor was given" or the workload it read. */
  readonly given: boolean;
  readonly notes: readonly string[];
}

export interface UserDecision {
  /** Which endpoint was asked: "the gateway" or "the API server". */
  readonly via: string;
  readonly status: number;
  readonly user?: { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  readonly message?: string;
}

export interface Binding {
  /** "ClusterRoleBinding name" or "RoleBinding namespace/name". */
  readonly ref: string;
  readonly role: string;
  readonly subjects: readonly { readonly kind: string; readonly name: string }[];
}

const oidcFlagSpecs = serveFlags.filter((f) => f.name.startsWith("oidc-"));

export class DoctorContext {
  readonly options: DoctorOptions;
  readonly #memo = new Map<string, Promise<unknown>>();

  constructor(options: DoctorOptions) {
    this.options = options;
  }

  #once<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let promise = this.#memo.get(key) as Promise<T> | undefined;
    if (!promise) {
      promise = compute();
      this.#memo.set(key, promise);
    }
    return promise;
  }

  close(): void {
    void this.cluster().then((cluster) => {
      if (!isUnavailable(cluster)) cluster.close();
    });
  }

  /** The connection to the API server from --kubeconfig (its exec plugin run if it has one) or in-cluster. */
  cluster(): Promise<Upstream | Unavailable> {
    return this.#once("cluster", async () => {
      const { kubeconfig, env } = this.options;
      try {
        const exec = kubeconfig ? execConfigOf(kubeconfigUser(kubeconfig)) : undefined;
        const execToken = exec
          ? await execCredentialToken(exec, kubeconfig, env, this.options.checkTimeoutMs * 3)
          : undefined;
        return new Upstream({
          kubeconfig,
          extraCaFile: "",
          env,
          serviceAccountDir: this.options.serviceAccountDir,
          execToken,
        });
      } catch (error) {
        if (error instanceof ConfigError) return { unavailable: error.message };
        if (error instanceof Error && error.message.startsWith("the kubeconfig's exec plugin")) {
          return { unavailable: error.message };
        }
        throw error;
      }
    });
  }

  /**
   * The user's token: the one given, else the kubeconfig's own bearer token when it is a JWT
   * (an OIDC user's kubeconfig, e.g. kubelogin's exec plugin), which is what kubectl sends.
   */
  token(): Promise<{ readonly raw: string; readonly source: string } | undefined> {
    return this.#once("token", async () => {
      if (this.options.token) return this.options.token;
      const cluster = await this.cluster();
      const raw = isUnavailable(cluster) ? undefined : cluster.authorization?.replace(/^Bearer /, "");
      if (raw?.split(".").length !== 3) return undefined;
      let decoded: DecodedToken;
      try {
        decoded = decodeToken(raw);
      } catch {
        return undefined;
      }
      // A ServiceAccount token (it carries the kubernetes.io claim) is not a user's OIDC token.
      if (typeof decoded.claims.iss !== "string" || "kubernetes.io" in decoded.claims) return undefined;
      return { raw, source: `the kubeconfig's credentials (${this.options.kubeconfig || "in-cluster"})` };
    });
  }

  /** A GET with the admin's credentials. */
  async adminGet(path: string): Promise<JsonResponse | Unavailable> {
    const cluster = await this.cluster();
    if (isUnavailable(cluster)) return cluster;
    try {
      return await requestJson(new URL(path, cluster.url), {
        agent: cluster.agent,
        authorization: cluster.authorization,
        timeoutMs: this.options.checkTimeoutMs,
      });
    } catch (error) {
      return { unavailable: `GET ${path}: ${(error as Error).message}` };
    }
  }

  /** A list the admin may or may not be allowed to read; the reason when not. */
  async #list(path: string, what: string): Promise<unknown[] | Unavailable> {
    const response = await this.adminGet(path);
    if (isUnavailable(response)) return response;
    if (response.status !== 200) {
      return { unavailable: `cannot list ${what} (HTTP ${response.status}: ${statusMessage(response.body)})` };
    }
    return (response.body as { items?: unknown[] }).items ?? [];
  }

  /** kube-apiserver's flags from its static Pod (kubeadm, kind), when readable. */
  apiServerFlags(): Promise<{ readonly source: string; readonly flags: ContainerFlags } | Unavailable> {
    return this.#once("apiServerFlags", async () => {
      const pods = await this.#list(
        "/api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-apiserver",
        "kube-system pods",
      );
      if (isUnavailable(pods)) return pods;
      const pod = pods[0] as
        | { metadata?: { name?: string }; spec?: { containers?: { command?: string[]; args?: string[] }[] } }
        | undefined;
      const container = pod?.spec?.containers?.[0];
      if (!container)
        return {
          unavailable:
            "no Pod labelled component=kube-apiserver in kube-system (a managed or non-kubeadm control plane)",
        };
      return {
        source: `Pod kube-system/${pod?.metadata?.name ?? ""}`,
        flags: flagsOf([...(container.command ?? []), ...(container.args ?? [])]),
      };
    });
  }

  /** Gateway, kube-oidc-proxy and oauth2-proxy Deployments in the cluster. */
  workloads(): Promise<Workload[] | Unavailable> {
    return this.#once("workloads", async () => {
      const response = await this.adminGet("/apis/apps/v1/deployments");
      if (isUnavailable(response)) return response;
      if (response.status !== 200) {
        return { unavailable: `cannot list deployments (HTTP ${response.status}: ${statusMessage(response.body)})` };
      }
      return Promise.all(workloadsIn(response.body).map((w) => this.#withConfigFile(w)));
    });
  }

  /** The gateway and kube-oidc-proxy Deployments in the cluster, by reference ("Deployment ns/name"). */
  async gatewayDeployments(): Promise<string[]> {
    const workloads = await this.workloads();
    return isUnavailable(workloads) ? [] : workloads.filter((w) => w.role !== "oauth2-proxy").map((w) => w.ref);
  }

  /** Whether the API server's static Pod shows it validating OIDC tokens itself; undefined when unreadable. */
  async apiServerValidatesOidc(): Promise<boolean | undefined> {
    const pod = await this.apiServerFlags();
    if (isUnavailable(pod)) return undefined;
    return pod.flags.has("oidc-issuer-url") || pod.flags.has("authentication-config");
  }

  /**
   * A gateway's settings from its --config file too, when that file is a ConfigMap key (as the
   * chart mounts it): flags and environment win over the file, as in `serve` (serve-config.ts).
   */
  async #withConfigFile(workload: Workload): Promise<Workload> {
    const source = workload.configFile;
    if (!source) return workload;
    const response = await this.adminGet(
      `/api/v1/namespaces/${encodeURIComponent(workload.namespace)}/configmaps/${encodeURIComponent(source.configMap)}`,
    );
    if (isUnavailable(response) || response.status !== 200) return workload;
    const text = (response.body as { data?: Record<string, string> }).data?.[source.key];
    let settings: unknown;
    try {
      settings = text === undefined ? undefined : parseYaml(text);
    } catch {
      return workload;
    }
    if (!settings || typeof settings !== "object" || Array.isArray(settings)) return workload;
    const flags = new Map<string, string>();
    for (const [name, value] of Object.entries(settings)) {
      flags.set(
        name,
        Array.isArray(value)
          ? value.join(",")
          : value && typeof value === "object"
            ? Object.entries(value)
                .map(([k, v]) => `${k}=${String(v)}`)
                .join(",")
            : String(value),
      );
    }
    for (const [name, value] of workload.flags) flags.set(name, value);
    return { ...workload, flags, settingsFrom: `arguments and ConfigMap ${source.configMap} (${source.path})` };
  }

  /**
   * The OIDC configuration tokens are validated with: given to doctor, else the API server's own
   * flags, else a gateway's or kube-oidc-proxy's arguments.
   */
  oidc(): Promise<OidcConfiguration | Unavailable> {
    return this.#once("oidc", async () => {
      const given = this.options.oidc;
      if (given) {
        // An AuthenticationConfiguration carries its CA inline (none: the system roots, known);
        // --oidc-* flags without --oidc-ca-file leave the server's own CA file unknown.
        const caUnknown = !given.fromFile && given.jwt.some((jwt) => !jwt.issuer.certificateAuthority);
        return {
          jwt: given.jwt,
          source: given.source,
          atApiServer: !this.options.gateway,
          caUnknown,
          given: true,
          notes: caUnknown
            ? [
                `${given.source} include no --oidc-ca-file: doctor does not know the CA bundle the ${this.options.gateway ? "gateway" : "API server"} trusts for the issuer (the system roots stand in)`,
              ]
            : [],
        };
      }
      const reasons: string[] = [];
      const apiServer = await this.apiServerFlags();
      if (!isUnavailable(apiServer)) {
        const fromPod = this.#fromFlags(apiServer.flags, apiServer.source, true);
        if (typeof fromPod === "object") return fromPod;
        const file = apiServer.flags.get("authentication-config");
        reasons.push(
          fromPod ??
            (file
              ? `${apiServer.source} reads --authentication-config=${file}, a file on the control-plane node: pass a copy with --authentication-config`
              : `${apiServer.source} has no --oidc-issuer-url`),
        );
      } else reasons.push(apiServer.unavailable);
      const workloads = await this.workloads();
      if (!isUnavailable(workloads)) {
        for (const w of workloads.filter((w) => w.role !== "oauth2-proxy")) {
          const fromArgs = this.#fromFlags(w.flags, `${w.ref} (${w.role} ${w.settingsFrom ?? "arguments"})`, false);
          if (typeof fromArgs === "object") return fromArgs;
          if (fromArgs) reasons.push(fromArgs);
        }
        reasons.push("no kube-oidc-gateway or kube-oidc-proxy Deployment with usable --oidc-* flags");
      } else reasons.push(workloads.unavailable);
      return {
        unavailable: `no OIDC configuration known: ${[...new Set(reasons)].join("; ")}. Pass --oidc-* or --authentication-config`,
      };
    });
  }

  /** The configuration in a container's --oidc-* flags; a string says why it cannot be used. */
  #fromFlags(flags: ContainerFlags, source: string, atApiServer: boolean): OidcConfiguration | string | undefined {
    if (!flags.has("oidc-issuer-url")) return undefined;
    const notes: string[] = [];
    // A CA file named in a Pod lives on that Pod's filesystem: its contents come from doctor's
    // own --oidc-ca-file, or the system roots stand in (and issuer-tls says what that gives).
    const argv = argvOf(flags, (name) => name.startsWith("oidc-") && name !== "oidc-ca-file");
    try {
      const config = jwtAuthenticatorFromFlags(parseFlags(oidcFlagSpecs, argv).values);
      // Only where the container names a CA file: without one it trusts the system roots.
      const ca = flags.has("oidc-ca-file") ? this.options.oidcCa : undefined;
      if (!flags.has("oidc-ca-file") && this.options.oidcCa) {
        notes.push(
          `${source} names no --oidc-ca-file, so it trusts the system roots; doctor's --oidc-ca-file is not used for it`,
        );
      }
      if (flags.has("oidc-ca-file")) {
        notes.push(
          ca
            ? `${source} trusts ${flags.get("oidc-ca-file")} for the issuer; ${ca.name} stands in for that file`
            : `${source} trusts ${flags.get("oidc-ca-file")} for the issuer, a file doctor cannot read: pass its contents with --oidc-ca-file (the system roots stand in)`,
        );
      }
      const jwt = ca ? { ...config, issuer: { ...config.issuer, certificateAuthority: ca.pem } } : config;
      return { jwt: [jwt], source, atApiServer, caUnknown: flags.has("oidc-ca-file") && !ca, given: false, notes };
    } catch (error) {
      if (error instanceof ConfigError) return `${source}: ${error.message}`;
      throw error;
    }
  }

  decoded(): Promise<DecodedToken | TokenDecodeError | undefined> {
    return this.#once("decoded", async () => {
      const token = await this.token();
      if (!token) return undefined;
      try {
        return decodeToken(token.raw);
      } catch (error) {
        if (error instanceof TokenDecodeError) return error;
        throw error;
      }
    });
  }

  /** What the configuration makes of the token, checked locally with the gateway's authenticator. */
  verdict(): Promise<TokenVerdict | Unavailable> {
    return this.#once("verdict", async () => {
      const token = await this.token();
      if (!token) return { unavailable: "no token given (--token-file or --token-env) and the kubeconfig holds none" };
      const oidc = await this.oidc();
      if (isUnavailable(oidc)) return oidc;
      return verifyToken(token.raw, oidc.jwt, {
        timeoutMs: this.options.checkTimeoutMs,
        allowSystemIdentities: this.options.allowSystemIdentities,
      });
    });
  }

  /** A SelfSubjectReview with the user's token, asked of the gateway or of the API server. */
  selfSubjectReview(target: "gateway" | "apiserver"): Promise<UserDecision | Unavailable> {
    return this.#once(`review:${target}`, async () => {
      const token = await this.token();
      if (!token) return { unavailable: "no token given (--token-file or --token-env) and the kubeconfig holds none" };
      const endpoint = await this.#endpoint(target);
      if (isUnavailable(endpoint)) return endpoint;
      try {
        const response = await requestJson(new URL("/apis/authentication.k8s.io/v1/selfsubjectreviews", endpoint.url), {
          method: "POST",
          body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
          ca: endpoint.ca,
          authorization: `Bearer ${token.raw}`,
          timeoutMs: this.options.checkTimeoutMs,
        });
        const user = (response.body as { status?: { userInfo?: UserDecision["user"] } })?.status?.userInfo;
        return response.status === 201 && user
          ? { via: endpoint.name, status: response.status, user }
          : { via: endpoint.name, status: response.status, message: statusMessage(response.body) };
      } catch (error) {
        return { unavailable: `${endpoint.name} at ${endpoint.url.origin}: ${(error as Error).message}` };
      }
    });
  }

  /** Where the user's requests go: the gateway when there is one, else the API server. */
  userPath(): "gateway" | "apiserver" {
    return this.options.gateway ? "gateway" : "apiserver";
  }

  /** The URL and CA of the gateway or of the API server, as the user's client would use them. */
  async #endpoint(target: "gateway" | "apiserver"): Promise<{ name: string; url: URL; ca?: string } | Unavailable> {
    if (target === "gateway") {
      const gateway = this.options.gateway;
      if (!gateway) return { unavailable: "no --gateway-url given" };
      return { name: "the gateway", url: gateway.url, ca: gateway.ca?.pem };
    }
    const cluster = await this.cluster();
    if (isUnavailable(cluster)) return cluster;
    return { name: "the API server", url: cluster.url, ca: cluster.agent.options.ca?.toString() };
  }

  /** A POST as the user, along the path the user's requests take. */
  async postAsUser(path: string, body: unknown): Promise<JsonResponse | Unavailable> {
    const token = await this.token();
    if (!token) return { unavailable: "no token given (--token-file or --token-env) and the kubeconfig holds none" };
    const endpoint = await this.#endpoint(this.userPath());
    if (isUnavailable(endpoint)) return endpoint;
    try {
      return await requestJson(new URL(path, endpoint.url), {
        method: "POST",
        body,
        ca: endpoint.ca,
        authorization: `Bearer ${token.raw}`,
        timeoutMs: this.options.checkTimeoutMs,
      });
    } catch (error) {
      return { unavailable: `${endpoint.name}: ${(error as Error).message}` };
    }
  }

  /** Every RoleBinding and ClusterRoleBinding. */
  bindings(): Promise<Binding[] | Unavailable> {
    return this.#once("bindings", async () => {
      const [cluster, namespaced] = await Promise.all([
        this.#list("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "clusterrolebindings"),
        this.#list("/apis/rbac.authorization.k8s.io/v1/rolebindings", "rolebindings"),
      ]);
      if (isUnavailable(cluster)) return cluster;
      if (isUnavailable(namespaced)) return namespaced;
      const toBinding =
        (kind: string) =>
        (item: unknown): Binding => {
          const b = item as {
            metadata?: { namespace?: string; name?: string };
            roleRef?: { kind?: string; name?: string };
            subjects?: { kind?: string; name?: string }[];
          };
          const where = b.metadata?.namespace ? `${b.metadata.namespace}/` : "";
          return {
            ref: `${kind} ${where}${b.metadata?.name ?? ""}`,
            role: `${b.roleRef?.kind ?? ""} ${b.roleRef?.name ?? ""}`,
            subjects: (b.subjects ?? []).map((s) => ({ kind: s.kind ?? "", name: s.name ?? "" })),
          };
        };
      return [...cluster.map(toBinding("ClusterRoleBinding")), ...namespaced.map(toBinding("RoleBinding"))];
    });
  }
}
