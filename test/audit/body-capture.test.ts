// The copies of bodies kept for audit events: bounded per body and across requests.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { BodyCapture, CaptureBudget, capturedRequestBody, isJsonMediaType } from "../../src/audit/body-capture.ts";

const bytes = (n: number) => Buffer.alloc(n, 0x61);

describe("BodyCapture", () => {
  it("keeps a body up to its limit, and nothing of a larger one", () => {
    const budget = new CaptureBudget(1000);
    const small = new BodyCapture(10, budget);
    small.add(Buffer.from('{"a":'));
    small.add(Buffer.from("1}"));
    assert.equal(small.text(), '{"a":1}');
    const large = new BodyCapture(10, budget);
    large.add(bytes(6));
    large.add(bytes(6));
    assert.equal(large.text(), undefined);
    assert.equal(budget.held, 7, "the dropped body gave its bytes back");
    small.release();
    assert.equal(budget.held, 0);
  });

  it("a burst of large bodies holds at most the budget; the rest go without, and released bytes are free again", () => {
    const budget = new CaptureBudget(25);
    const captures = Array.from({ length: 5 }, () => new BodyCapture(100, budget));
    for (const capture of captures) capture.add(bytes(10));
    assert.deepEqual(
      captures.map((c) => c.text()?.length),
      [10, 10, undefined, undefined, undefined],
    );
    assert.equal(budget.held, 20);
    for (const capture of captures) capture.release();
    assert.equal(budget.held, 0);
    const later = new BodyCapture(100, budget);
    later.add(bytes(20));
    assert.equal(later.text()?.length, 20);
    later.add(bytes(1));
    later.release();
    later.add(bytes(5));
    assert.equal(later.text(), undefined, "nothing is kept after release");
    assert.equal(budget.held, 0);
  });

  it("statusOnly keeps a Status, even split across chunks, and drops anything else at once", () => {
    const budget = new CaptureBudget();
    const status = new BodyCapture(1000, budget, true);
    status.add(Buffer.from('{"kind":"St'));
    status.add(Buffer.from('atus","code":404}'));
    assert.equal(status.text(), '{"kind":"Status","code":404}');
    const object = new BodyCapture(1000, budget, true);
    object.add(Buffer.from('{"kind":"ConfigMap","apiVersion":"v1"}'));
    assert.equal(object.text(), undefined);
    status.release();
    assert.equal(budget.held, 0);
  });

  it("copies a request body as it is forwarded, byte for byte", async () => {
    const capture = new BodyCapture(100, new CaptureBudget());
    const source = new PassThrough();
    const forwarded = capturedRequestBody(source, capture);
    const received: Buffer[] = [];
    forwarded.on("data", (c: Buffer) => received.push(c));
    source.end('{"metadata":{"name":"x"}}');
    await new Promise((resolve) => forwarded.once("end", resolve));
    assert.equal(Buffer.concat(received).toString(), '{"metadata":{"name":"x"}}');
    assert.equal(capture.text(), '{"metadata":{"name":"x"}}');
  });

  it("reads JSON media types as kube-apiserver's decoders name them", () => {
    for (const type of [
      "application/json",
      "application/json; charset=utf-8",
      "application/merge-patch+json",
      "application/strategic-merge-patch+json",
      "application/json-patch+json",
    ]) {
      assert.equal(isJsonMediaType(type), true, type);
    }
    for (const type of [
      undefined,
      "application/yaml",
      "application/apply-patch+yaml",
      "application/vnd.kubernetes.protobuf",
    ]) {
      assert.equal(isJsonMediaType(type), false, String(type));
    }
  });
});
