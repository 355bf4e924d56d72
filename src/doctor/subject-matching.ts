// RBAC subjects that almost name an identity: the failure mode behind most "logged in but
// forbidden" reports (kubelogin #156, #280, #706; the Kubeapps guide's prefix step). RBAC
// compares names byte for byte, so each near miss is a binding that silently grants nothing.

export interface NamedSubject {
  /** The binding that names it ("RoleBinding ns/name"). */
  readonly binding: string;
  readonly name: string;
}

export interface NearMiss extends NamedSubject {
  readonly why: string;
}

/** The prefix an identity carries: the configured one, else everything up to the last ':' or '#'. */
export function prefixOf(name: string, configured?: string): string {
  if (configured !== undefined) return name.startsWith(configured) ? configured : "";
  const match = /^.*[:#]/.exec(name);
  return match ? match[0] : "";
}

/** Subjects that differ from `actual` in a way people make by hand. */
export function nearMisses(actual: string, subjects: readonly NamedSubject[], configuredPrefix?: string): NearMiss[] {
  const prefix = prefixOf(actual, configuredPrefix);
  const bare = actual.slice(prefix.length);
  const misses: NearMiss[] = [];
  for (const subject of subjects) {
    const name = subject.name;
    if (name === actual) continue;
    let why: string | undefined;
    if (prefix && name === bare) why = `the prefix ${JSON.stringify(prefix)} is missing`;
    else if (prefix && name === prefix + actual) why = `the prefix ${JSON.stringify(prefix)} is doubled`;
    else if (name.toLowerCase() === actual.toLowerCase())
      why = "it differs in letter case (RBAC names are case-sensitive)";
    else if (bare.startsWith("/") && (name === prefix + bare.slice(1) || name === bare.slice(1))) {
      why =
        'the identity is a full group path with a leading slash (Keycloak\'s "Full group path") and the subject is not';
    } else if (!bare.startsWith("/") && (name === `${prefix}/${bare}` || name === `/${bare}`)) {
      why = "the subject is a full group path with a leading slash and the identity is not";
    } else if (bare.length > 0 && name.endsWith(bare) && /[:#]$/.test(name.slice(0, -bare.length))) {
      why = `it carries the prefix ${JSON.stringify(name.slice(0, -bare.length))} instead of ${JSON.stringify(prefix)}`;
    }
    if (why) misses.push({ ...subject, why });
  }
  return misses;
}
