import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Command, CommandContext } from "../command.ts";

const help = `Usage: kube-oidc-gateway demo [--once]

Brings up the whole chain on this machine with real parts and walks through it:
  - a real kube-apiserver (built from the k8s.io/kubernetes Go module, embedded etcd, RBAC on)
    started with NO OIDC configuration, and kubectl from the same release;
  - an OpenID provider (oidc-provider) where the demo user jane logs in;
  - kube-oidc-gateway in front, validating her id token as kube-apiserver would and forwarding
    her requests impersonated; browser sessions and the whoami page on.
It shows the token refused by the API server itself, 'kubectl auth whoami' through the gateway,
a request RBAC permits and one it denies, and 'doctor' finding nothing wrong; then prints how to
try it by hand and the whoami page URL, and runs until Ctrl-C.

The first run builds kube-apiserver and kubectl from Go modules (minutes on two cores, progress
shown) into the repository's .cache/ folder; later runs start in seconds. It needs a clone of
the repository (npm ci && npm run demo) and Go: the installed package does not carry the test bed.

Options:
  --once      run the walkthrough, check every step, and exit (0 only if each behaved as expected)
  -h, --help  show this text

Exit status: 0 the walkthrough behaved as expected (--once) or was stopped with Ctrl-C, 1 a step
did not, 2 a usage error (unknown option, or no clone of the repository to run from). Every
command follows this convention: 0 success, 1 findings or failures, 2 usage errors.`;

/** The demo lives with the test bed, which only a clone of the repository has. */
const demoModule = new URL("../../../testbed/demo.ts", import.meta.url);

async function run(args: readonly string[], context: CommandContext): Promise<number> {
  let once: boolean;
  try {
    ({
      values: { once = false },
    } = parseArgs({ args: [...args], options: { once: { type: "boolean" } }, strict: true }));
  } catch (error) {
    context.stderr(`kube-oidc-gateway demo: ${(error as Error).message}\nRun 'kube-oidc-gateway demo --help'.\n`);
    return 2;
  }
  if (!existsSync(fileURLToPath(demoModule))) {
    context.stderr(
      "kube-oidc-gateway demo: the demo is not in the npm package: it runs from a clone of the repository\n" +
        "(the source tree this package is built from), which carries the test bed and builds kube-apiserver with Go.\n" +
        "In that clone: npm ci && npm run demo\n",
    );
    return 2;
  }
  const { runDemo } = (await import(demoModule.href)) as typeof import("../../../testbed/demo.ts");
  return runDemo({ once, out: context.stdout, log: (line) => context.stderr(`${line}\n`) });
}

export const demo: Command = {
  name: "demo",
  summary: "bring up the whole chain on this machine: issuer, kube-apiserver, gateway, kubectl",
  help,
  run,
};
