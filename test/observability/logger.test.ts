// The log line formats: JSON (one object a line) and text for people (--log-format=text).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger, textLine } from "../../src/observability/logger.ts";

describe("log lines", () => {
  it("in JSON: time, level, msg, the logger's base fields, then the line's", () => {
    const lines: string[] = [];
    createLogger("info", (l) => lines.push(l), { worker: 2 }).info("request", { status: 200 });
    const line = JSON.parse(lines[0] ?? "") as Record<string, unknown>;
    assert.deepEqual(Object.keys(line), ["time", "level", "msg", "worker", "status"]);
    assert.equal(line.worker, 2);
  });

  it("in text: time, level, the message quoted, key=value; values with spaces, quotes or newlines as JSON strings", () => {
    assert.equal(
      textLine("2026-01-02T03:04:05.678Z", "warn", "flag ignored", {
        flag: "--log-dir",
        reason: 'no "dir"\nhere',
        count: 3,
        on: true,
        groups: ["a", "b"],
        absent: undefined,
      }),
      '2026-01-02T03:04:05.678Z WARN  "flag ignored" flag=--log-dir reason="no \\"dir\\"\\nhere" count=3 on=true groups=["a","b"]\n',
    );
  });

  it("writes one line per entry in text, whatever the fields hold", () => {
    const lines: string[] = [];
    createLogger("debug", (l) => lines.push(l), undefined, "text").debug("x", { detail: "a\nb\rc" });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.split("\n").length, 2, "one line and its newline");
  });

  it("says which levels it writes, so callers can skip building a line nobody reads", () => {
    const logger = createLogger("warn", () => assert.fail("written below the level"));
    assert.equal(logger.enabled?.("info"), false);
    assert.equal(logger.enabled?.("error"), true);
    logger.info("dropped");
  });
});
