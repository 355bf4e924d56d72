// Nested impersonation (opt-in): a client's own Impersonate-* headers (kubectl --as, --as-group,
// --as-uid, --as-user-extra) are honoured only when SubjectAccessReviews say the authenticated
// user may impersonate each requested item, exactly the checks kube-apiserver's impersonation
// filter makes (k8s.io/apiserver pkg/endpoints/filters/impersonation/impersonation.go,
// buildImpersonationRequests). The request then goes on as the target, and the original user is
// recorded in extras so the API server's audit log shows both (the approach Pinniped takes).
import type { UserInfo } from "../authn/user.ts";
import { postToApiServer } from "../upstream/api-request.ts";
import type { Upstream } from "../upstream/cluster.ts";
import { StatusError } from "./status.ts";

/** Extras the gateway adds to a nested impersonation: who really asked. */
export const originalUserExtra = "authentication.kube-oidc-gateway.io/original-username";
export const originalGroupsExtra = "authentication.kube-oidc-gateway.io/original-groups";

export interface RequestedImpersonation {
  readonly user: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/** Go's url.PathUnescape, keeping the raw key when an escape is malformed (as the filter does). */
function pathUnescape(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, "%2B"));
  } catch {
    return value;
  }
}

/** The impersonation a client asks for, or undefined when it sent no Impersonate-* header. */
export function requestedImpersonation(rawHeaders: readonly string[]): RequestedImpersonation | undefined {
  let user: string | undefined;
  let uid: string | undefined;
  const groups: string[] = [];
  const extra: Record<string, string[]> = {};
  let any = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? "").toLowerCase();
    const value = rawHeaders[i + 1] ?? "";
    if (!name.startsWith("impersonate-")) continue;
    any = true;
    if (name === "impersonate-user") user = value;
    else if (name === "impersonate-uid") uid = value;
    else if (name === "impersonate-group") groups.push(value);
    else if (name.startsWith("impersonate-extra-")) {
      const key = pathUnescape(name.slice("impersonate-extra-".length));
      extra[key] = [...(extra[key] ?? []), value];
    } else {
      throw new StatusError("BAD_IMPERSONATION", 400, "BadRequest", `unknown impersonation header ${rawHeaders[i]}`);
    }
  }
  if (!any) return undefined;
  if (!user) {
    const what = [
      ...groups.map((g) => `group ${g}`),
      ...Object.keys(extra).map((k) => `extra ${k}`),
      ...(uid ? [`uid ${uid}`] : []),
    ];
    throw new StatusError(
      "BAD_IMPERSONATION",
      400,
      "BadRequest",
      `requested [${what.join(" ")}] without impersonating a user`,
    );
  }
  return { user, uid, groups, extra };
}

interface Attributes {
  readonly resource: string;
  readonly subresource?: string;
  readonly group: string;
  readonly name: string;
  readonly namespace?: string;
}

/** kube-apiserver's forbiddenMessage + NewForbidden for an impersonation check. */
function forbidden(actor: UserInfo, attributes: Attributes, reason: string): StatusError {
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  const scope = attributes.namespace ? `in the namespace "${attributes.namespace}"` : "at the cluster scope";
  const denied = `User ${JSON.stringify(actor.username)} cannot impersonate resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attributes.group)} ${scope}`;
  const qualified = attributes.group ? `${attributes.resource}.${attributes.group}` : attributes.resource;
  const details: Record<string, unknown> = { name: attributes.name };
  if (attributes.group) details.group = attributes.group;
  details.kind = attributes.resource;
  return new StatusError(
    "IMPERSONATION_FORBIDDEN",
    403,
    "Forbidden",
    `${qualified} ${JSON.stringify(attributes.name)} is forbidden: ${denied}${reason ? `: ${reason}` : ""}`,
    { details },
  );
}

export class ImpersonationAuthorizer {
  readonly #upstream: Upstream;

  constructor(upstream: Upstream) {
    this.#upstream = upstream;
  }

  async #allowed(actor: UserInfo, attributes: Attributes): Promise<{ allowed: boolean; reason: string }> {
    const review = await postToApiServer<{ status?: { allowed?: boolean; reason?: string } }>(
      this.#upstream,
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: actor.username,
          uid: actor.uid,
          groups: [...actor.groups, "system:authenticated"],
          extra: actor.extra,
          resourceAttributes: { verb: "impersonate", ...attributes },
        },
      },
    ).catch((error: Error) => {
      throw new StatusError("IMPERSONATION_CHECK_FAILED", 500, "InternalError", "the impersonation check failed", {
        cause: error,
      });
    });
    return { allowed: review.status?.allowed === true, reason: review.status?.reason ?? "" };
  }

  /** The identity to forward, once every requested item is allowed; else a 403 StatusError. */
  async authorize(actor: UserInfo, requested: RequestedImpersonation): Promise<UserInfo> {
    const serviceAccount = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(requested.user);
    const checks: Attributes[] = [
      serviceAccount
        ? { resource: "serviceaccounts", group: "", namespace: serviceAccount[1], name: serviceAccount[2] ?? "" }
        : { resource: "users", group: "", name: requested.user },
      ...requested.groups.map((name) => ({ resource: "groups", group: "", name })),
      ...Object.entries(requested.extra).flatMap(([key, values]) =>
        values.map((name) => ({ resource: "userextras", subresource: key, group: "authentication.k8s.io", name })),
      ),
      ...(requested.uid ? [{ resource: "uids", group: "authentication.k8s.io", name: requested.uid }] : []),
    ];
    for (const attributes of checks) {
      const { allowed, reason } = await this.#allowed(actor, attributes);
      if (!allowed) throw forbidden(actor, attributes, reason);
    }
    return {
      username: requested.user,
      uid: requested.uid,
      groups: requested.groups,
      extra: {
        ...requested.extra,
        [originalUserExtra]: [actor.username],
        ...(actor.groups.length > 0 ? { [originalGroupsExtra]: actor.groups } : {}),
      },
    };
  }
}
