// kube-oidc-proxy's users keep their manifests: its own Deployment args (deploy/yaml of the
// v0.3.0 tarball, which its chart renders the same way) run with our kube-oidc-proxy executable
// in front of the test bed's kube-apiserver, together with every one of its 84 flags (from its
// --help, test/cli/fixtures/kube-oidc-proxy-v0.3.0-help.txt, printed by the binary built from that
// tarball), and a user's request reaches the API server as that user.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { kubeOidcProxyFlags } from "../../src/config/kube-oidc-proxy-flags.ts";
import { serveFlags } from "../../src/config/serve-flags.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import { TestCA } from "../../testbed/ca.ts";
import { type GatewayCredentials, prepareGatewayCredentials } from "../../testbed/gateway.ts";
import { ensureHelm } from "../../testbed/helm.ts";
import { httpsRequest, waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { repoRoot } from "../../testbed/paths.ts";
import { freePort } from "../../testbed/ports.ts";
import { writeUnreachableKubeconfig } from "../helpers/unreachable-kubeconfig.ts";

const run = promisify(execFile);
const executable = join(repoRoot, "src", "cli", "kube-oidc-proxy.ts");
const mainEntry = join(repoRoot, "src", "cli", "main.ts");
const tarball = resolve(repoRoot, "..", "shared", "peers", "kube-oidc-proxy-v0.3.0.tar.gz");

interface HelpFlag {
  readonly name: string;
  readonly short?: string;
  readonly type: string;
  readonly default?: string;
}

/** The flags of kube-oidc-proxy's --help: `  -P, --readiness-probe-port int   text (default 8080)`. */
function helpFlags(): HelpFlag[] {
  const text = readFileSync(join(import.meta.dirname, "fixtures", "kube-oidc-proxy-v0.3.0-help.txt"), "utf8");
  const flags: HelpFlag[] = [];
  for (const line of text.split("\n")) {
    const match = /^\s+(?:-(\w), )?--([a-z0-9-]+)(?: (\w+))?\s{2,}.*?(?:\(default (.*)\))?$/.exec(line);
    if (!match) continue;
    const [, short, name, type = "bool", fallback] = match;
    flags.push({
      name: name as string,
      ...(short ? { short } : {}),
      type,
      ...(fallback !== undefined ? { default: fallback.replace(/^"(.*)"$/, "$1").replace(/^\[(.*)\]$/, "$1") } : {}),
    });
  }
  return flags;
}

/** A throw-away self-signed serving pair, readable by any user, as flags. */
async function servingPair(dir: string): Promise<string[]> {
  const ca = await TestCA.create();
  const pair = await ca.issueLoopbackServer("kube-oidc-proxy");
  writeFileSync(join(dir, "tls.crt"), pair.certPem, { mode: 0o644 });
  writeFileSync(join(dir, "tls.key"), pair.keyPem, { mode: 0o644 });
  return [`--tls-cert-file=${join(dir, "tls.crt")}`, `--tls-private-key-file=${join(dir, "tls.key")}`];
}

/** `--name=value` with kube-oidc-proxy's default (its zero value when it prints none). */
function atDefault(flag: HelpFlag): string {
  const zero: Record<string, string> = { bool: "false", int: "0", uint: "0", float32: "0", duration: "0s", Level: "0" };
  return `--${flag.name}=${flag.default ?? zero[flag.type] ?? ""}`;
}

describe("kube-oidc-proxy's flags and manifests", () => {
  it("its --help lists exactly the flags of src/config/kube-oidc-proxy-flags.ts, with their short forms and defaults", () => {
    const help = helpFlags();
    assert.equal(help.length, 84, "kube-oidc-proxy v0.3.0 has 84 flags");
    assert.deepEqual(
      help.map((f) => `${f.short ? `-${f.short} ` : ""}--${f.name}`).sort(),
      kubeOidcProxyFlags.map((f) => `${f.short ? `-${f.short} ` : ""}--${f.name}`).sort(),
    );
    for (const flag of kubeOidcProxyFlags) {
      const printed = help.find((f) => f.name === flag.name)?.default;
      if (flag.default !== undefined) assert.equal(printed, flag.default, `--${flag.name}'s default`);
    }
  });

  it("every one is in serve's flag table, by name or alias, with the same short form", () => {
    for (const flag of kubeOidcProxyFlags) {
      if (flag.name === "help") continue;
      const spec = serveFlags.find((f) => f.name === flag.name || f.aliases?.includes(flag.name));
      assert.ok(spec, `--${flag.name}`);
      assert.equal(spec.short, flag.short, `--${flag.name}'s short form`);
    }
  });

  it("the main binary treats flags first as kube-oidc-proxy, and --version answers as both executables", async () => {
    const flagsFirst = await run(process.execPath, [mainEntry, "--version"]);
    assert.match(flagsFirst.stdout, /^\d+\.\d+\.\d+/);
    const asProxy = await run(process.execPath, [executable, "--version"]);
    assert.match(asProxy.stdout, /^kube-oidc-gateway \d+\.\d+\.\d+/);
    // Flags first: no "unknown command", and kube-oidc-proxy's name in the refusal.
    const refused = await run(process.execPath, [mainEntry, "--secure-port=443"]).then(
      () => assert.fail("started without an issuer"),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^kube-oidc-proxy \(kube-oidc-gateway\): --oidc-issuer-url/);
    assert.doesNotMatch(refused.stderr, /unknown command/);
  });

  it("--secure-port=443 as the image's non-root user is refused with how to allow it (its manifests bind 443)", {
    skip:
      process.getuid?.() !== 0
        ? "needs root to run the CLI as another user"
        : Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")) <= 443
          ? "this machine lets any user bind 443"
          : false,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "kop-port-443-"));
    chmodSync(dir, 0o755);
    const kubeconfig = writeUnreachableKubeconfig(dir);
    const refused = await run(
      "setpriv",
      [
        "--reuid=1000",
        "--regid=1000",
        "--clear-groups",
        process.execPath,
        executable,
        "--secure-port=443",
        "--bind-address=127.0.0.1",
        ...(await servingPair(dir)),
        "--oidc-issuer-url=https://127.0.0.1:2",
        "--oidc-client-id=x",
        `--kubeconfig=${kubeconfig}`,
        "--health-port=0",
      ],
      { timeout: 60_000 },
    ).then(
      () => assert.fail("bound 443 as uid 1000"),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /listen EACCES/);
    assert.match(refused.stderr, /net\.ipv4\.ip_unprivileged_port_start/);
    assert.match(refused.stderr, /--secure-port=8443/);
  });

  describe("its manifests, unchanged, in front of the test bed", { timeout: 300_000 }, () => {
    let bed: TestBed;
    let credentials: GatewayCredentials;
    let source: string;
    const children: ChildProcess[] = [];

    before(async () => {
      bed = await startTestBed();
      credentials = await prepareGatewayCredentials(bed, "kube-oidc-proxy-args");
      for (const args of [
        ["create", "clusterrole", "kop-configmap-reader", "--verb=get,list", "--resource=configmaps"],
        ["create", "clusterrolebinding", "kop-jane", "--clusterrole=kop-configmap-reader", "--user=jane@example.com"],
      ]) {
        const result = await bed.kubectl(args);
        assert.equal(result.code, 0, result.stderr);
      }
      const dir = mkdtempSync(join(tmpdir(), "kop-manifests-"));
      await run("tar", ["-xzf", tarball, "-C", dir]);
      source = join(dir, "kube-oidc-proxy-v0.3.0");
    });
    after(async () => {
      for (const child of children) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        child.kill("SIGKILL");
        await new Promise((done) => child.once("exit", done));
      }
      await bed?.stop();
    });

    type Container = { command?: string[]; args: string[] };
    const deploymentOf = (text: string): Container => {
      const documents = text
        .split(/^---$/m)
        .map((doc) => parseYaml(doc) as { kind?: string; spec?: { template: { spec: { containers: unknown[] } } } });
      const deployment = documents.find((d) => d?.kind === "Deployment");
      return deployment?.spec?.template.spec.containers[0] as Container;
    };

    /**
     * Runs our kube-oidc-proxy executable with `container`'s args as the kubelet would expand them
     * (`env` for $(VAR), the mounted files from the bed), preceded by `before`; checks that jane's
     * request reaches the API server as her, and returns what it logged.
     */
    async function serveAsThePod(
      container: Container,
      env: Record<string, string>,
      before: string[] = [],
    ): Promise<string> {
      assert.deepEqual(container.command, ["kube-oidc-proxy"], "run by the image's kube-oidc-proxy executable");
      const files: Record<string, string> = {
        "/etc/oidc/tls/crt.pem": credentials.certFile,
        "/etc/oidc/tls/key.pem": credentials.keyFile,
        "/etc/oidc/oidc-ca.pem": credentials.caFile,
      };
      const port = await freePort();
      const health = await freePort();
      const podArgs = container.args.map((arg) =>
        arg
          .replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? assert.fail(`no ${name}`))
          .replace(/=(\/etc\/oidc\/[\w./-]+)$/, (_, path: string) => `=${files[path] ?? path}`)
          // A pod binds 443 in its own network namespace; here a free port.
          .replace(/^--secure-port=443$/, `--secure-port=${port}`),
      );
      const args = [
        ...before,
        ...podArgs,
        // What the pod gets from its ServiceAccount (in-cluster), given by kube-oidc-proxy's own flag.
        `--kubeconfig=${credentials.kubeconfig}`,
        `-P=${health}`,
        "--bind-address=127.0.0.1",
        "--health-bind-address=127.0.0.1",
      ];
      let stderr = "";
      const child = spawn(process.execPath, [executable, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
      await waitFor(
        "the kube-oidc-proxy executable's readiness",
        async () => {
          if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`);
          return (await fetch(`http://127.0.0.1:${health}/readyz`).catch(() => undefined))?.status === 200;
        },
        { timeoutMs: 60_000 },
      );
      const jane = (await bed.login("jane")).idToken;
      const response = await httpsRequest(`https://127.0.0.1:${port}/api/v1/namespaces/default/configmaps`, {
        ca: bed.ca.certPem,
        headers: { authorization: `Bearer ${jane}` },
      });
      assert.equal(response.status, 200, response.body);
      child.kill("SIGTERM");
      assert.equal(await exited, 0, stderr);
      return stderr;
    }

    it("deploy/yaml's Deployment starts with all 84 flags at their defaults before its args, logs the ignored ones, and serves a user", {
      skip: existsSync(tarball) ? false : `no ${tarball}`,
    }, async () => {
      const container = deploymentOf(readFileSync(join(source, "deploy", "yaml", "kube-oidc-proxy.yaml"), "utf8"));
      const everyFlag = helpFlags()
        .filter((f) => f.name !== "help" && f.name !== "version")
        .map((f) =>
          // NamedCertKey refuses an empty value; give it the serving pair.
          f.name === "tls-sni-cert-key"
            ? `--tls-sni-cert-key=${credentials.certFile},${credentials.keyFile}`
            : atDefault(f),
        );
      const stderr = await serveAsThePod(
        container,
        { OIDC_CLIENT_ID: clients.kubernetes.id, OIDC_ISSUER_URL: bed.issuer.url, OIDC_USERNAME_CLAIM: "email" },
        everyFlag,
      );
      // One line per ignored flag that was set: klog's, --namespace, --audit-dynamic-configuration.
      const ignored = stderr
        .split("\n")
        .filter((line) => line.includes('"flag ignored"'))
        .map((line) => (JSON.parse(line) as { flag: string }).flag);
      const expected = serveFlags.filter(
        (f) => f.ignored && helpFlags().some((h) => h.name === f.name || f.aliases?.includes(h.name)),
      );
      assert.deepEqual(ignored.sort(), expected.map((f) => `--${f.name}`).sort());
    });

    it("its Helm chart's Deployment, rendered with every option its template has, starts and serves a user", {
      skip: existsSync(tarball) ? false : `no ${tarball}`,
    }, async () => {
      const helm = await ensureHelm();
      const values = join(source, "test-values.yaml");
      writeFileSync(
        values,
        JSON.stringify({
          oidc: {
            clientId: clients.kubernetes.id,
            issuerUrl: bed.issuer.url,
            usernameClaim: "email",
            caPEM: bed.ca.certPem,
            usernamePrefix: "-",
            groupsClaim: "groups",
            groupsPrefix: "oidc:",
            signingAlgs: ["RS256"],
          },
          tokenPassthrough: { enabled: true, audiences: ["kubernetes"] },
          extraImpersonationHeaders: { clientIP: true, headers: "team=a,team=b" },
          extraArgs: { v: 3, "flush-interval": "10ms" },
        }),
      );
      const chart = join(source, "deploy", "charts", "kube-oidc-proxy");
      const rendered = await run(helm, ["template", "kop", chart, "-f", values]);
      const container = deploymentOf(rendered.stdout);
      for (const flag of [
        "--token-passthrough",
        "--extra-user-header-client-ip",
        "--extra-user-headers=team=a,team=b",
        "--v=3",
      ]) {
        assert.ok(container.args.includes(flag), `the chart renders ${flag}: ${container.args.join(" ")}`);
      }
      // The Secret the chart renders holds what its env refers to (OIDC_* from secretKeyRef).
      const secret = rendered.stdout
        .split(/^---$/m)
        .map((doc) => parseYaml(doc) as { kind?: string; metadata?: { name: string }; data?: Record<string, string> })
        .find((d) => d?.kind === "Secret" && d.metadata?.name.endsWith("-config"));
      const data = secret?.data ?? assert.fail("no config Secret");
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(data)) {
        env[
          `OIDC_${key
            .replace(/^oidc\./, "")
            .replaceAll("-", "_")
            .toUpperCase()}`
        ] = Buffer.from(value, "base64").toString();
      }
      await serveAsThePod(container, env);
    });
  });
});
