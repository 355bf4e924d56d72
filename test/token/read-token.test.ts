import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { readToken, type TokenInputError } from "../../src/token/read-token.ts";

describe("readToken", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const io = (stdin: string, env: NodeJS.ProcessEnv = {}) => ({ stdin: Readable.from([stdin]), env });

  it("reads standard input, a file or an environment variable, dropping whitespace and Bearer", async () => {
    assert.equal(await readToken({}, io("  Bearer a.b.c\n")), "a.b.c");
    assert.equal(await readToken({ envName: "T" }, io("", { T: "bearer x.y.z" })), "x.y.z");
    const dir = await mkdtemp(join(tmpdir(), "kog-token-"));
    dirs.push(dir);
    await writeFile(join(dir, "t"), "f.g.h\n");
    assert.equal(await readToken({ file: join(dir, "t") }, io("")), "f.g.h");
  });

  it("names what is missing", async () => {
    const code = async (promise: Promise<string>) =>
      promise.then(
        () => "read",
        (error: TokenInputError) => error.code,
      );
    assert.equal(await code(readToken({}, io("\n"))), "NO_TOKEN");
    assert.equal(await code(readToken({ envName: "UNSET" }, io(""))), "TOKEN_ENV_UNSET");
    assert.equal(await code(readToken({ file: "/nonexistent/token" }, io(""))), "TOKEN_FILE_UNREADABLE");
    assert.equal(await code(readToken({}, io("x".repeat((1 << 20) + 10)))), "TOKEN_TOO_LARGE");
  });
});
