// Flags read from a container's command and args, as a pflag program would see them: the
// kube-apiserver static Pod's --oidc-* flags, the gateway's or kube-oidc-proxy's, oauth2-proxy's
// --cookie-refresh. `--name=value` and `--name value` forms; the last occurrence wins, as in pflag.

export type ContainerFlags = ReadonlyMap<string, string>;

export function flagsOf(argv: readonly string[]): ContainerFlags {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    if (eq !== -1) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith("-")) {
      flags.set(arg.slice(2), next);
      i++;
    } else {
      flags.set(arg.slice(2), "true");
    }
  }
  return flags;
}

/** The flags as an argv again, keeping only those `keep` accepts. */
export function argvOf(flags: ContainerFlags, keep: (name: string) => boolean): string[] {
  return [...flags].filter(([name]) => keep(name)).map(([name, value]) => `--${name}=${value}`);
}
