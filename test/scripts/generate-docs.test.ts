import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { it } from "node:test";
import { serveFlagReference, serveFlagReferencePath } from "../../scripts/generate-docs.ts";

it("docs/serve-flags.md matches the flag table (run npm run docs)", async () => {
  assert.equal(await readFile(serveFlagReferencePath, "utf8"), serveFlagReference());
});
