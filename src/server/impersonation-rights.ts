// The impersonation rights the gateway's own credentials need for what its configuration will
// send, asked at start with SelfSubjectAccessReviews. kube-apiserver's impersonation filter
// authorizes every Impersonate-* item on its own (k8s.io/apiserver@v0.37.2
// pkg/endpoints/filters/impersonation/impersonation.go: verb "impersonate" on "users" and
// "groups" in the core group, on "uids" and on "userextras" with the extra key as subresource in
// authentication.k8s.io), so one item the ClusterRole lacks fails every request with 403. The
// commonest case: kube-oidc-proxy's ClusterRole (v0.3.0 deploy/yaml/kube-oidc-proxy.yaml) grants
// users, groups, serviceaccounts and userextras/scopes, while the gateway, as kube-apiserver,
// sets the extra authentication.kubernetes.io/credential-id from a token's `jti`
// (k8s.io/apiserver pkg/authentication/token/jwt). A missing extra is then left out of the
// request, as kube-oidc-proxy leaves out what it was not told to send, unless
// --require-impersonation-rights asks the gateway to refuse to start.
import { asciiLowerExtraKey } from "../apiserver/impersonation-headers.ts";
import type { ServeConfig } from "../config/serve-config.ts";
import { GatewayError } from "../errors.ts";
import { clientIpExtraKey } from "../proxy/api-proxy.ts";
import { originalGroupsExtra, originalUserExtra } from "../proxy/nested-impersonation.ts";
import { postToApiServer } from "../upstream/api-request.ts";
import type { Upstream } from "../upstream/cluster.ts";

/** The extra kube-apiserver's JWT authenticator sets from `jti`. */
export const credentialIdExtra = "authentication.kubernetes.io/credential-id";

export interface ImpersonationRight {
  /** "" for users and groups, authentication.k8s.io for uids and userextras. */
  readonly group: "" | "authentication.k8s.io";
  readonly resource: "users" | "groups" | "uids" | "userextras";
  /** The extra key, for userextras (lower-cased, as the API server reads it back). */
  readonly extraKey?: string;
  /** Which part of the configuration makes the gateway send it. */
  readonly why: string;
}

export class ImpersonationRightsError extends GatewayError {
  constructor(message: string, options?: ErrorOptions) {
    super("IMPERSONATION_RIGHTS_MISSING", message, options);
  }
}

/** "userextras/<key>" or the resource: how RBAC names it. */
export const rightName = (right: ImpersonationRight): string =>
  right.extraKey === undefined ? right.resource : `${right.resource}/${right.extraKey}`;

/** What the configuration will impersonate, in the order a ClusterRole would list it. */
export function neededImpersonationRights(
  config: Pick<ServeConfig, "authentication"> & Partial<Pick<ServeConfig, "proxy">>,
): ImpersonationRight[] {
  // --disable-impersonation: the client's token goes on as it came, nothing is impersonated.
  if (config.proxy?.disableImpersonation) return [];
  const { jwt, nestedImpersonation } = config.authentication;
  const rights: ImpersonationRight[] = [{ group: "", resource: "users", why: "every authenticated request" }];
  if (jwt.some((j) => j.claimMappings.groups) || nestedImpersonation)
    rights.push({ group: "", resource: "groups", why: "the groups claim mapping" });
  if (jwt.some((j) => j.claimMappings.uid) || nestedImpersonation)
    rights.push({ group: "authentication.k8s.io", resource: "uids", why: "the uid claim mapping" });
  const extras = new Map<string, string>();
  const addExtra = (key: string, why: string) => {
    const lower = asciiLowerExtraKey(key);
    if (!extras.has(lower)) extras.set(lower, why);
  };
  if (jwt.length > 0) addExtra(credentialIdExtra, "tokens with a jti claim (set as kube-apiserver sets it)");
  for (const j of jwt)
    for (const extra of j.claimMappings.extra ?? []) addExtra(extra.key, `the extra mapping of ${j.issuer.url}`);
  if (nestedImpersonation) {
    addExtra(originalUserExtra, "--allow-nested-impersonation");
    addExtra(originalGroupsExtra, "--allow-nested-impersonation");
  }
  if (config.proxy?.extraUserHeaderClientIp) addExtra(clientIpExtraKey, "--extra-user-header-client-ip");
  for (const key of Object.keys(config.proxy?.extraUserHeaders ?? {})) addExtra(key, "--extra-user-headers");
  for (const [extraKey, why] of extras)
    rights.push({ group: "authentication.k8s.io", resource: "userextras", extraKey, why });
  return rights;
}

/** The ClusterRole rules (YAML) that grant `rights`. */
export function clusterRoleRules(rights: readonly ImpersonationRight[]): string {
  const lines: string[] = [];
  for (const group of ["", "authentication.k8s.io"] as const) {
    const names = rights.filter((r) => r.group === group).map(rightName);
    if (names.length === 0) continue;
    lines.push(
      `- apiGroups: [${JSON.stringify(group)}]`,
      `  resources: [${names.map((n) => JSON.stringify(n)).join(", ")}]`,
      `  verbs: ["impersonate"]`,
    );
  }
  return lines.join("\n");
}

export interface ImpersonationRightsReport {
  readonly allowed: readonly ImpersonationRight[];
  readonly missing: readonly ImpersonationRight[];
}

interface SelfSubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

/** Asks, as the gateway's own credentials, whether each right is granted. */
export async function checkImpersonationRights(
  upstream: Pick<Upstream, "send" | "url" | "authorization">,
  rights: readonly ImpersonationRight[],
  timeoutMs = 10_000,
): Promise<ImpersonationRightsReport> {
  const answers = await Promise.all(
    rights.map(async (right) => {
      const review = await postToApiServer<SelfSubjectAccessReview>(
        upstream,
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: {
            resourceAttributes: {
              verb: "impersonate",
              group: right.group,
              resource: right.resource,
              ...(right.extraKey === undefined ? {} : { subresource: right.extraKey }),
            },
          },
        },
        timeoutMs,
      );
      return { right, allowed: review.status?.allowed === true };
    }),
  );
  return {
    allowed: answers.filter((a) => a.allowed).map((a) => a.right),
    missing: answers.filter((a) => !a.allowed).map((a) => a.right),
  };
}

/** One line for the log, /readyz and doctor: what is missing and what the gateway does about it. */
export function describeMissing(missing: readonly ImpersonationRight[]): string {
  const extras = missing.filter((r) => r.resource === "userextras");
  const others = missing.filter((r) => r.resource !== "userextras");
  const parts: string[] = [];
  if (extras.length > 0)
    parts.push(`may not impersonate ${extras.map(rightName).join(", ")}: those extras are left out of every request`);
  if (others.length > 0)
    parts.push(`may not impersonate ${others.map(rightName).join(", ")}: requests that need them get 403`);
  return `the gateway's credentials ${parts.join("; ")} (add to its ClusterRole: ${clusterRoleRules(missing).replace(/\n\s*/g, " ")})`;
}

/** How the start-up check reports (the gateway's logger). */
export interface ImpersonationRightsLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** How long to wait before asking again when the API server did not answer. */
export const impersonationRightsRetryMs = 10_000;

/**
 * The start-up check as `serve` runs it: asks once (again every 10 s while the API server does
 * not answer), logs a missing right once, loudly, with the rule to add, withholds the extras it
 * may not impersonate (impersonationHeaders), and keeps the finding for /readyz.
 */
export class ImpersonationRightsCheck {
  readonly #rights: readonly ImpersonationRight[];
  readonly #upstream: Pick<Upstream, "send" | "url" | "authorization">;
  readonly #log: ImpersonationRightsLog;
  readonly #withhold: (keys: Iterable<string>) => void;
  #report: ImpersonationRightsReport | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Settles with the first answer (or the first failure to ask). */
  readonly done: Promise<ImpersonationRightsReport>;

  constructor(options: {
    readonly rights: readonly ImpersonationRight[];
    readonly upstream: Pick<Upstream, "send" | "url" | "authorization">;
    readonly log: ImpersonationRightsLog;
    readonly withhold: (keys: Iterable<string>) => void;
  }) {
    this.#rights = options.rights;
    this.#upstream = options.upstream;
    this.#log = options.log;
    this.#withhold = options.withhold;
    this.done = this.#ask();
    this.done.catch((error: unknown) => {
      this.#log.warn("impersonation rights not checked: the API server did not answer; asking again in 10s", {
        error: (error as Error)?.message,
      });
      this.#retry();
    });
  }

  async #ask(): Promise<ImpersonationRightsReport> {
    if (this.#rights.length === 0) {
      this.#report = { allowed: [], missing: [] };
      return this.#report;
    }
    const report = await checkImpersonationRights(this.#upstream, this.#rights);
    if (this.#stopped) return report;
    this.#report = report;
    this.#withhold(report.missing.filter((r) => r.resource === "userextras").map((r) => r.extraKey ?? ""));
    if (report.missing.length === 0) {
      this.#log.info("impersonation rights checked: the gateway may impersonate all it will send", {
        rights: this.#rights.map(rightName),
      });
    } else {
      this.#log.error(`IMPERSONATION RIGHTS MISSING: ${describeMissing(report.missing)}`, {
        missing: report.missing.map((r) => ({ right: rightName(r), why: r.why })),
        rule: clusterRoleRules(report.missing),
      });
    }
    return report;
  }

  #retry(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#ask().catch((error: unknown) => {
        this.#log.warn("impersonation rights not checked: the API server did not answer; asking again in 10s", {
          error: (error as Error)?.message,
        });
        this.#retry();
      });
    }, impersonationRightsRetryMs);
    this.#timer.unref();
  }

  /** Resolves when every right is granted; throws ImpersonationRightsError otherwise (--require-impersonation-rights). */
  async required(): Promise<void> {
    let report: ImpersonationRightsReport;
    try {
      report = await this.done;
    } catch (error) {
      throw new ImpersonationRightsError(
        `--require-impersonation-rights: the impersonation rights could not be checked: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (report.missing.length > 0)
      throw new ImpersonationRightsError(`--require-impersonation-rights: ${describeMissing(report.missing)}`);
  }

  /** For /readyz: the missing rights, or that they are not checked yet. */
  degraded(): string[] {
    if (!this.#report) return ["impersonation rights: not checked yet (the API server has not answered)"];
    return this.#report.missing.length === 0 ? [] : [`impersonation rights: ${describeMissing(this.#report.missing)}`];
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#withhold([]);
  }
}
