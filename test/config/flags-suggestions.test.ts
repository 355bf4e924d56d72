// "Did you mean" for every way a setting is given (issue 19): a mistyped --config file key got no
// suggestion (only a key containing a flag name, or contained in one, did), and a mistyped KOG_*
// variable was ignored without a word while its setting kept its default.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError } from "../../src/config/errors.ts";
import { closestFlag, editDistance, envName, parseFlags, unknownEnvironment } from "../../src/config/flags.ts";
import { loadServeConfig } from "../../src/config/serve-config.ts";
import { serveFlags } from "../../src/config/serve-flags.ts";

describe("did you mean, for flags, config file keys and KOG_* variables", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-flags-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a config file key with two letters swapped gets the setting it was meant to be", async () => {
    const file = join(dir, "gateway.yaml");
    await writeFile(file, "oidc-issuer-ulr: https://issuer.example.com\noidc-client-id: kubernetes\n");
    assert.throws(
      () => loadServeConfig([`--config=${file}`, "--cert-dir=/tmp/kog-unused"], {}),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.code === "UNKNOWN_FLAG" &&
        error.message === `${file}: unknown setting "oidc-issuer-ulr" (did you mean oidc-issuer-url?)`,
    );
  });

  it("a config file key written in snake or camel case names the flag's own spelling", async () => {
    const file = join(dir, "helm-style.yaml");
    await writeFile(file, "oidcUsernamePrefix: 'oidc:'\n");
    assert.throws(() => loadServeConfig([`--config=${file}`], {}), {
      message: /unknown setting "oidcUsernamePrefix" \(did you mean oidc-username-prefix\?\)$/,
    });
    assert.equal(closestFlag(serveFlags, "oidc_groups_claim"), "oidc-groups-claim");
  });

  it("a mistyped flag gets the nearest flag; the containment rule still names --oidc-issuer-url for --oidc-issuer", () => {
    assert.throws(() => parseFlags(serveFlags, ["--secure-prot=8443"]), {
      message: "unknown flag: --secure-prot (did you mean --secure-port?)",
    });
    assert.throws(() => parseFlags(serveFlags, ["--oidc-issuer=x"]), {
      message: "unknown flag: --oidc-issuer (did you mean --oidc-issuer-url?)",
    });
    // Nothing near: no guess rather than a wrong one.
    assert.throws(() => parseFlags(serveFlags, ["--frobnicate-widgets=5s"]), {
      message: "unknown flag: --frobnicate-widgets",
    });
  });

  it("counts a transposition as one edit (optimal string alignment)", () => {
    assert.equal(editDistance("ulr", "url"), 1);
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(editDistance("same", "same"), 0);
  });

  it("warns about each unknown KOG_* variable once, naming the closest variable", () => {
    const env = {
      KOG_OIDC_ISSUER_ULR: "https://issuer.example.com",
      KOG_OIDC_CLIENT_ID: "kubernetes", // a setting: not reported
      KOG_SECURE_PROT: "8443",
      KOG_NOTHING_LIKE_IT_AT_ALL: "1",
      KOG_CACHE_DIR: "/tmp/cache", // the test bed's, not serve's: not reported
      KUBECONFIG: "/etc/kubeconfig", // not ours
    };
    assert.deepEqual(unknownEnvironment(serveFlags, env), [
      {
        variable: "KOG_NOTHING_LIKE_IT_AT_ALL",
        message: "KOG_NOTHING_LIKE_IT_AT_ALL sets no flag and is ignored",
      },
      {
        variable: "KOG_OIDC_ISSUER_ULR",
        closest: "KOG_OIDC_ISSUER_URL",
        message: "KOG_OIDC_ISSUER_ULR sets no flag and is ignored (did you mean KOG_OIDC_ISSUER_URL?)",
      },
      {
        variable: "KOG_SECURE_PROT",
        closest: "KOG_SECURE_PORT",
        message: "KOG_SECURE_PROT sets no flag and is ignored (did you mean KOG_SECURE_PORT?)",
      },
    ]);
  });

  it("reports no variable that sets a flag: every flag's own variable is known", () => {
    const env = Object.fromEntries(serveFlags.map((s) => [envName(s.name), "x"]));
    assert.deepEqual(unknownEnvironment(serveFlags, env), []);
  });

  it("a variable named after a flag's alias is unknown (only the flag's own name is read) and names the flag's variable", () => {
    const aliased = serveFlags.find((s) => (s.aliases?.length ?? 0) > 0);
    assert.ok(aliased, "serve has a flag with an alias");
    const alias = envName(aliased.aliases?.[0] ?? "");
    if (alias === envName(aliased.name)) return;
    const [reported] = unknownEnvironment(serveFlags, { [alias]: "x" });
    assert.equal(reported?.closest, envName(aliased.name));
  });
});
