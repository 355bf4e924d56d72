// Nested impersonation (opt-in): a client's own Impersonate-* headers (kubectl --as, --as-group,
// --as-uid, --as-user-extra) are honoured only when SubjectAccessReviews say the authenticated
// user may impersonate each requested item, with the checks kube-apiserver's impersonation filter
// makes (k8s.io/apiserver pkg/endpoints/filters/impersonation: constrained_impersonation.go and
// mode.go, KEP-5284): the constrained modes arbitrary-node, serviceaccount and user-info
// (impersonate-on:<mode>:<verb> on the request itself, then impersonate:<mode> on each item), then
// legacy impersonation (impersonate on each item); the first refusal is the answer when none
// allows. The request then goes on as the target, and the original user is recorded in extras so
// the API server's audit log shows both (the approach Pinniped takes).

import type { RequestAttributes } from "../apiserver/request-info.ts";
import { nodeName, splitServiceAccountUsername } from "../apiserver/usernames.ts";
import type { UserInfo } from "../authn/user.ts";
import { postToApiServer } from "../upstream/api-request.ts";
import type { Upstream } from "../upstream/cluster.ts";
import { StatusError } from "./status.ts";

/** Extras the gateway adds to a nested impersonation: who really asked. */
export const originalUserExtra = "authentication.kube-oidc-gateway.io/original-username";
export const originalGroupsExtra = "authentication.kube-oidc-gateway.io/original-groups";

/** The extra keys the gateway writes itself: a client's values for them never pass. */
const ownedExtras = new Set([originalUserExtra, originalGroupsExtra]);

/**
 * The most groups plus extra values one request may ask to impersonate. Each one costs up to one
 * SubjectAccessReview per impersonation mode, so without a bound a single request with a
 * thousand Impersonate-Group lines makes thousands of reviews. kubectl sends one line per
 * --as-group / --as-user-extra flag; 64 is far above any hand-written command (and above the
 * wildcard threshold of 4 where kube-apiserver itself tries one "*" check first), while keeping a
 * refused request's cost bounded.
 */
export const maxImpersonatedItems = 64;

export interface RequestedImpersonation {
  readonly user: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  /** A Map: the keys are client input, "__proto__" and "constructor" included. */
  readonly extra: ReadonlyMap<string, readonly string[]>;
}

/** Go's url.PathUnescape, keeping the raw key when an escape is malformed (as the filter does). */
function pathUnescape(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, "%2B"));
  } catch {
    return value;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A header value as the text its bytes spell: Node hands header values over as latin1 (one char
 * per byte), Go reads the same bytes as a UTF-8 string. Without this, "jöhn" would be sent on
 * as "jÃ¶hn". Bytes that are not UTF-8 are refused rather than guessed at.
 */
function utf8HeaderValue(name: string, value: string): string {
  try {
    return utf8.decode(Buffer.from(value, "latin1"));
  } catch {
    throw new StatusError("BAD_IMPERSONATION", 400, "BadRequest", `${name} is not valid UTF-8`);
  }
}

/** The impersonation a client asks for, or undefined when it sent no Impersonate-* header. */
export function requestedImpersonation(rawHeaders: readonly string[]): RequestedImpersonation | undefined {
  let user: string | undefined;
  let uid: string | undefined;
  const groups: string[] = [];
  const extra = new Map<string, string[]>();
  let any = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? "").toLowerCase();
    if (!name.startsWith("impersonate-")) continue;
    const value = utf8HeaderValue(name, rawHeaders[i + 1] ?? "");
    any = true;
    if (name === "impersonate-user") user = value;
    else if (name === "impersonate-uid") uid = value;
    else if (name === "impersonate-group") groups.push(value);
    else if (name.startsWith("impersonate-extra-")) {
      const key = pathUnescape(name.slice("impersonate-extra-".length));
      const values = extra.get(key);
      if (values) values.push(value);
      else extra.set(key, [value]);
    }
    // Other Impersonate-* headers mean nothing to kube-apiserver; the gateway drops them all.
  }
  if (!any) return undefined;
  if (!user) {
    const what = [
      ...groups.map((g) => `group ${g}`),
      ...[...extra.keys()].map((k) => `extra ${k}`),
      ...(uid ? [`uid ${uid}`] : []),
    ];
    throw new StatusError(
      "BAD_IMPERSONATION",
      400,
      "BadRequest",
      `requested [${what.join(" ")}] without impersonating a user`,
    );
  }
  const items = groups.length + [...extra.values()].reduce((n, values) => n + values.length, 0);
  if (items > maxImpersonatedItems) {
    throw new StatusError(
      "TOO_MANY_IMPERSONATED_ITEMS",
      400,
      "BadRequest",
      `requested ${items} impersonated groups and extra values: at most ${maxImpersonatedItems} are allowed through this gateway`,
    );
  }
  return { user, uid, groups, extra };
}

interface Attributes {
  readonly verb?: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly group: string;
  readonly version?: string;
  readonly name: string;
  readonly namespace?: string;
}

/** kube-apiserver's responsewriters.ForbiddenStatusError: forbiddenMessage + NewForbidden. */
function forbidden(
  actor: UserInfo,
  verb: string,
  attributes: Attributes | { path: string },
  reason: string,
): StatusError {
  const suffix = reason ? `: ${reason}` : "";
  if ("path" in attributes) {
    return new StatusError(
      "IMPERSONATION_FORBIDDEN",
      403,
      "Forbidden",
      `forbidden: User ${JSON.stringify(actor.username)} cannot ${verb} path ${JSON.stringify(attributes.path)}${suffix}`,
      { details: {} },
    );
  }
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  const scope = attributes.namespace ? `in the namespace "${attributes.namespace}"` : "at the cluster scope";
  const denied = `User ${JSON.stringify(actor.username)} cannot ${verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attributes.group)} ${scope}`;
  const qualified = attributes.group ? `${attributes.resource}.${attributes.group}` : attributes.resource;
  const details: Record<string, unknown> = {};
  if (attributes.name) details.name = attributes.name;
  if (attributes.group) details.group = attributes.group;
  if (attributes.resource) details.kind = attributes.resource;
  const message = attributes.name
    ? `${qualified} ${JSON.stringify(attributes.name)} is forbidden: ${denied}${suffix}`
    : `${qualified} is forbidden: ${denied}${suffix}`;
  return new StatusError("IMPERSONATION_FORBIDDEN", 403, "Forbidden", message, { details });
}

const isServiceAccountUser = (username: string) => splitServiceAccountUsername(username) !== undefined;
const onlyUsername = (r: RequestedImpersonation) => !r.uid && r.groups.length === 0 && r.extra.size === 0;
const domainPrefixedPath = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/[^/].*$/i;

interface Mode {
  readonly name: string;
  readonly verb: string;
  readonly constrained: boolean;
  applies(requested: RequestedImpersonation): boolean;
}

const modes: readonly Mode[] = [
  // associated-node needs a ServiceAccount requestor bound to a node: never a token user.
  {
    name: "arbitrary-node",
    verb: "impersonate:arbitrary-node",
    constrained: true,
    applies: (r) => onlyUsername(r) && nodeName(r.user) !== undefined,
  },
  {
    name: "serviceaccount",
    verb: "impersonate:serviceaccount",
    constrained: true,
    applies: (r) => onlyUsername(r) && isServiceAccountUser(r.user),
  },
  {
    name: "user-info",
    verb: "impersonate:user-info",
    constrained: true,
    applies: (r) => nodeName(r.user) === undefined && !isServiceAccountUser(r.user),
  },
  { name: "legacy", verb: "impersonate", constrained: false, applies: () => true },
];

type Review = { readonly allowed: boolean; readonly reason: string };

/**
 * Answers of SubjectAccessReviews for a few seconds, keyed by the whole review spec: a client
 * repeating a request (kubectl's discovery, a watch reconnecting) does not ask again each time.
 * Bounded in entries (the oldest goes first) so distinct specs cannot grow it without limit; the
 * TTL matches the 10 s kube-apiserver's own impersonation cache keeps an answer
 * (k8s.io/apiserver@v0.37.2 pkg/endpoints/filters/impersonation/cache.go) halved, and a
 * pending review is shared by identical concurrent ones. A failed review is not kept.
 */
export class ReviewCache {
  readonly #entries = new Map<string, { readonly expires: number; readonly review: Promise<Review> }>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor({ maxEntries = 4096, ttlMs = 5_000, now = Date.now } = {}) {
    this.#maxEntries = maxEntries;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, review: () => Promise<Review>): Promise<Review> {
    const now = this.#now();
    const known = this.#entries.get(key);
    if (known && known.expires > now) return known.review;
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    const pending = review();
    const entry = { expires: now + this.#ttlMs, review: pending };
    this.#entries.set(key, entry);
    pending.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return pending;
  }
}

/** A plain-data copy of extras in an object without a prototype (keys are client input). */
function extraRecord(entries: Iterable<readonly [string, readonly string[]]>): Record<string, readonly string[]> {
  const record: Record<string, readonly string[]> = Object.create(null);
  for (const [key, values] of entries) record[key] = [...values];
  return record;
}

/** ASCII lower-casing: what the impersonation headers do to a key before kube-apiserver reads it. */
const asciiLower = (key: string) => key.replace(/[A-Z]/g, (c) => c.toLowerCase());

export class ImpersonationAuthorizer {
  readonly #upstream: Upstream;
  readonly #reviews: ReviewCache;

  constructor(upstream: Upstream, reviews = new ReviewCache()) {
    this.#upstream = upstream;
    this.#reviews = reviews;
  }

  #allowed(actor: UserInfo, attributes: Record<string, unknown>, nonResource?: boolean): Promise<Review> {
    const body = {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: actor.username,
        uid: actor.uid,
        groups: [...actor.groups, "system:authenticated"],
        extra: extraRecord(Object.entries(actor.extra)),
        ...(nonResource ? { nonResourceAttributes: attributes } : { resourceAttributes: attributes }),
      },
    };
    return this.#reviews.get(JSON.stringify(body.spec), async () => {
      const review = await postToApiServer<{ status?: { allowed?: boolean; reason?: string } }>(
        this.#upstream,
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        body,
      ).catch((error: Error) => {
        throw new StatusError("IMPERSONATION_CHECK_FAILED", 500, "InternalError", "the impersonation check failed", {
          cause: error,
        });
      });
      return { allowed: review.status?.allowed === true, reason: review.status?.reason ?? "" };
    });
  }

  async #check(actor: UserInfo, verb: string, attributes: Attributes): Promise<void> {
    const { allowed, reason } = await this.#allowed(actor, { ...attributes, verb });
    if (!allowed) throw forbidden(actor, verb, attributes, reason);
  }

  /** impersonationModeState.check: username (or ServiceAccount, or node), uid, groups, extra. */
  async #checkItems(actor: UserInfo, mode: Mode, requested: RequestedImpersonation): Promise<string[]> {
    const { verb, constrained } = mode;
    // Constrained modes name users, groups, nodes and ServiceAccounts in authentication.k8s.io,
    // legacy impersonation in the core group (mode.go, newImpersonationModeState).
    const [group, version] = constrained ? ["authentication.k8s.io", "v1"] : ["", "v1"];
    let groups = [...requested.groups];
    const serviceAccount = splitServiceAccountUsername(requested.user);
    const node = constrained ? nodeName(requested.user) : undefined;
    const user: Attributes =
      node !== undefined
        ? { resource: "nodes", group, version, name: node }
        : serviceAccount
          ? {
              resource: "serviceaccounts",
              group,
              version,
              namespace: serviceAccount.namespace,
              name: serviceAccount.name,
            }
          : { resource: "users", group, version, name: requested.user };
    if (node !== undefined) {
      if (groups.length > 0)
        throw forbidden(
          actor,
          verb,
          user,
          `when impersonating a node, cannot impersonate groups ${JSON.stringify(groups)}`,
        );
      groups = ["system:nodes"];
    }
    if (serviceAccount && constrained && groups.length > 0) {
      throw forbidden(
        actor,
        verb,
        user,
        `when impersonating a service account, cannot impersonate groups ${JSON.stringify(groups)}`,
      );
    }
    await this.#check(actor, verb, user);
    if (requested.uid)
      await this.#check(actor, verb, {
        resource: "uids",
        group: "authentication.k8s.io",
        version: "v1",
        name: requested.uid,
      });
    if (requested.groups.length > 0) {
      const attributes = (name: string): Attributes => ({ resource: "groups", group, version, name });
      if (constrained && requested.groups.includes(""))
        throw forbidden(actor, verb, attributes(""), "impersonating the empty string group is not allowed");
      if (constrained && requested.groups.includes("system:masters")) {
        throw forbidden(
          actor,
          verb,
          attributes("system:masters"),
          "impersonating the system:masters group is not allowed",
        );
      }
      const all =
        constrained &&
        requested.groups.length >= 4 &&
        (await this.#allowed(actor, { ...attributes("*"), verb })).allowed;
      if (!all) for (const group of requested.groups) await this.#check(actor, verb, attributes(group));
    }
    const entries = [...requested.extra];
    if (entries.length > 0) {
      const attributes = (subresource: string, name: string): Attributes => ({
        resource: "userextras",
        subresource,
        group: "authentication.k8s.io",
        version: "v1",
        name,
      });
      if (constrained) {
        for (const [key, values] of entries) {
          const invalid =
            key === ""
              ? "impersonating the empty string key in extra is not allowed"
              : !domainPrefixedPath.test(key)
                ? "impersonating an invalid key in extra is not allowed"
                : key !== key.toLowerCase()
                  ? `impersonating a non-lowercase key in extra is not allowed: ${JSON.stringify(key)}`
                  : values.includes("")
                    ? "impersonating the empty string value in extra is not allowed"
                    : "";
          if (invalid) throw forbidden(actor, verb, attributes("", ""), invalid);
        }
      }
      const count = entries.reduce((n, [, values]) => n + values.length, 0);
      const all =
        constrained &&
        (entries.length >= 4 || count >= 4) &&
        (await this.#allowed(actor, { ...attributes("*", "*"), verb })).allowed;
      if (!all)
        for (const [key, values] of entries)
          for (const value of values) await this.#check(actor, verb, attributes(key, value));
    }
    return groups;
  }

  /**
   * The identity to forward, once a mode allows the impersonation for this request; else the
   * first refusal, as a 403 StatusError with kube-apiserver's wording.
   */
  async authorize(actor: UserInfo, requested: RequestedImpersonation, request: RequestAttributes): Promise<UserInfo> {
    let firstError: StatusError | undefined;
    for (const mode of modes) {
      if (!mode.applies(requested)) continue;
      try {
        if (mode.constrained) {
          const verb = `impersonate-on:${mode.name}:${request.verb}`;
          const target = request.resourceRequest
            ? {
                resource: request.resource,
                subresource: request.subresource,
                group: request.group,
                version: request.version,
                namespace: request.namespace,
                name: request.name,
              }
            : { path: request.path };
          const { allowed, reason } = await this.#allowed(actor, { ...target, verb }, !request.resourceRequest);
          if (!allowed) throw forbidden(actor, verb, target, reason);
        }
        const groups = await this.#checkItems(actor, mode, requested);
        // The keys the gateway owns are its own to write, whatever the client asked for under
        // them (in any letter case: the headers lower-case keys, which would merge them).
        const extra = extraRecord([...requested.extra].filter(([key]) => !ownedExtras.has(asciiLower(key))));
        extra[originalUserExtra] = [actor.username];
        if (actor.groups.length > 0) extra[originalGroupsExtra] = [...actor.groups];
        return { username: requested.user, uid: requested.uid, groups, extra };
      } catch (error) {
        if (!(error instanceof StatusError) || error.httpStatus !== 403) throw error;
        firstError ??= error;
      }
    }
    throw firstError ?? new StatusError("IMPERSONATION_FORBIDDEN", 403, "Forbidden", "all impersonation modes failed");
  }
}
