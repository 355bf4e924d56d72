// redactedSet (src/lint/render/helm.ts) held against helm itself: for a generated --set argument,
// helm reads the redacted argument as it reads the original, except that every value under a
// credential key is "<redacted>". So the redaction splits pairs and lists exactly as helm's
// strvals parser does (escaped commas, `{a,b}` lists, `=` inside values), and no value helm would
// give a credential key survives in the line. Arguments helm refuses (a list that never closes,
// a bare comma that leaves a key without a value) are held by the fixed cases at the end.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { redactedSet } from "../../../src/lint/render/helm.ts";
import { ensureHelm } from "../../../testbed/helm.ts";
import { propertyParameters } from "../../helpers/property-seed.ts";

// Names that are credentials (redacted; src/lint/credentials.ts errs on the safe side, so
// keycloak is one) and names that are not (some close to one).
const credentialNames = ["clientSecret", "password", "token", "apiKey", "key", "keycloak", "credentials"];
const plainNames = ["url", "name", "replicas", "issuer", "enabled", "pass", "tok"];

// Value pieces: words, an escaped comma, an escaped backslash, `=`, braces and spaces inside a
// value, and now and then a bare comma (which ends the value, as helm reads it).
const piece = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z0-9]{1,4}$/) },
  { weight: 2, arbitrary: fc.constantFrom("\\,", "\\\\", "=", " ", "}", "{", ":", "1", "true") },
  { weight: 1, arbitrary: fc.constant(",") },
);
const plainValue = fc.array(piece, { maxLength: 5 }).map((pieces) => pieces.join(""));
const listItem = fc
  .array(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,3}$/), fc.constantFrom("\\,", "\\}", " ")), { maxLength: 3 })
  .map((p) => p.join(""));
const listValue = fc.array(listItem, { minLength: 1, maxLength: 3 }).map((items) => `{${items.join(",")}}`);
const value = fc.oneof({ weight: 3, arbitrary: plainValue }, { weight: 1, arbitrary: listValue });

// One argument of pairs `p<i>.<name>=<value>`: each pair under its own top-level key, so helm's
// reading of one pair never merges with another's.
// A name as typed may escape some of its letters (`pass\word`): helm reads the letter alone.
const typedName = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((escaped) => [...name].map((c, i) => (escaped[i] && /[a-z]/i.test(c) ? `\\${c}` : c)).join(""));
const argument = fc
  .array(
    fc
      .constantFrom(...credentialNames, ...plainNames)
      .chain((name) =>
        fc.record({ name: fc.constant(name), typed: fc.oneof(fc.constant(name), typedName(name)), value }),
      ),
    { minLength: 1, maxLength: 4 },
  )
  .map((pairs) => ({
    pairs,
    text: pairs.map((p, i) => `p${i}.${p.typed}=${p.value}`).join(","),
  }));

describe("--set redaction read back by helm", { timeout: 300_000 }, () => {
  let helm = "";
  let chart = "";

  before(async () => {
    helm = await ensureHelm();
    chart = await mkdtemp(join(tmpdir(), "kog-set-chart-"));
    await mkdir(join(chart, "templates"));
    await writeFile(join(chart, "Chart.yaml"), "apiVersion: v2\nname: values\nversion: 0.1.0\n");
    // The values helm built from --set, as JSON in one ConfigMap key.
    await writeFile(
      join(chart, "templates", "values.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: values\ndata:\n  values: {{ toJson .Values | quote }}\n",
    );
  });
  after(() => rm(chart, { recursive: true, force: true }));

  /** The values helm reads from one --set argument, or its error. */
  function helmValues(set: string): Promise<{ values?: Record<string, unknown>; error?: string }> {
    return new Promise((resolve) => {
      execFile(helm, ["template", "v", chart, "--set", set], { encoding: "utf8" }, (error, stdout, stderr) => {
        if (error) return resolve({ error: stderr.trim() || error.message });
        const line = /^ {2}values: (".*")$/m.exec(stdout)?.[1];
        resolve({ values: JSON.parse(JSON.parse(line ?? '"{}"') as string) as Record<string, unknown> });
      });
    });
  }

  it("helm reads the redacted argument as the original, every credential value replaced", async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(argument, async ({ pairs, text }) => {
        const redacted = redactedSet(text);
        const [original, shown] = await Promise.all([helmValues(text), helmValues(redacted)]);
        // An argument helm refuses is the user's to fix; what the redacted line shows of it is
        // held by the cases below. One helm accepts must read back the same, redacted.
        if (original.error !== undefined) return;
        assert.equal(shown.error, undefined, `helm refused the redacted line only\n${text}\n${redacted}`);
        accepted++;
        const expected = structuredClone(original.values ?? {});
        pairs.forEach((pair, i) => {
          const holder = expected[`p${i}`] as Record<string, unknown> | undefined;
          if (credentialNames.includes(pair.name) && holder && pair.name in holder) holder[pair.name] = "<redacted>";
        });
        assert.deepEqual(shown.values, expected, `original: ${text}\nredacted: ${redacted}`);
      }),
      propertyParameters(0.2),
    );
    assert.ok(accepted > 0, "helm accepted none of the generated arguments: the property checked nothing");
  });

  it("keeps what needs no redaction byte for byte", () => {
    for (const text of ["", "a=1", "a.b=x\\,y,c={1,2},d=", "image.tag=v1,{x}", "a=1,,b=2", "a={x,y}b=1"]) {
      assert.equal(redactedSet(text), text);
    }
    assert.equal(redactedSet("oidc.clientSecret={a,b},x=1"), "oidc.clientSecret=<redacted>,x=1");
    assert.equal(redactedSet("a.token=x\\,y=z,b=2"), "a.token=<redacted>,b=2");
    // An escaped letter in a key is still that key to helm (a reviewer's finding: it leaked).
    assert.equal(
      redactedSet("pass\\word=hunter2,auth.client\\Secret=x"),
      "pass\\word=<redacted>,auth.client\\Secret=<redacted>",
    );
    // A list that never closes (helm refuses the argument) does not hide the pairs after it.
    assert.equal(redactedSet("a.url={x,b.clientSecret=hunter2"), "a.url={x,b.clientSecret=<redacted>");
  });
});
