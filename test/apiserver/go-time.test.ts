// go-time.ts against go-oidc v2.5.0's jsonTime on Go 1.26 amd64 (the test bed's kube-apiserver):
// the table is the Go code's own output (json.Number → Int64, else int64(Float64) → time.Unix,
// then Before(time.Now())).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { GoTypeError } from "../../src/apiserver/go-json.ts";
import { goJsonNumberUnix, goJsonTime, goTimeUnixSeconds } from "../../src/apiserver/go-time.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

// [JSON text, jsonTime's int64 seconds or an error, whether time.Unix's time is before now].
const goTable: [string, bigint | "error", boolean?][] = [
  ["1e-400", 0n, true],
  ["-1e-400", 0n, true],
  ["1e400", "error"],
  ["-0", 0n, true],
  ["-0.0", 0n, true],
  ["9223372036854775807", 9223372036854775807n, true],
  ["9223371974719179007", 9223371974719179007n, false],
  ["9223371974719179008", 9223371974719179008n, true],
  ["9.2233719748e18", 9223371974800000000n, true],
  ["9223372036854775808", -9223372036854775808n, true],
  ["-9223372036854775808", -9223372036854775808n, true],
  ["-9223372036854775809", -9223372036854775808n, true],
  ["-9.3e18", -9223372036854775808n, true],
  ["1e19", -9223372036854775808n, true],
  ["null", "error"],
  ['"12"', 12n, true],
  ['"1e3"', 1000n, true],
  ['"abc"', "error"],
  ['""', "error"],
  ["true", "error"],
  ["[]", "error"],
  ["1.5", 1n, true],
  ["-1.5", -1n, true],
  ['"\\u0031"', 1n, true],
];

/** goJsonTime as the verifier calls it: the value JSON.parse made and the literal's text. */
const decode = (text: string) => goJsonTime(JSON.parse(text), () => text);

describe("go-time: go-oidc's jsonTime", () => {
  for (const [text, unix, before] of goTable) {
    it(`${text} → ${unix}${before === undefined ? "" : before ? ", before now" : ", after now"}`, () => {
      if (unix === "error") {
        assert.throws(() => decode(text), GoTypeError);
        return;
      }
      const value: unknown = JSON.parse(text);
      if (typeof value === "number") assert.equal(goJsonNumberUnix(text), unix);
      assert.equal(decode(text) < Date.now() / 1000, before);
      assert.equal(decode(text), goTimeUnixSeconds(unix));
    });
  }

  it("needs a number's text only beyond 2^53", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.double({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1, noNaN: true }), fc.maxSafeInteger()),
        (n) => {
          const seconds = goJsonTime(n, () => assert.fail("asked for the text"));
          assert.equal(seconds, Math.trunc(n) || 0);
        },
      ),
      propertyParameters(),
    );
  });

  it("time.Unix wraps exactly past 2^63-1 - unixToInternal", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (sec) => {
        const wraps = sec > 2n ** 63n - 1n - 62135596800n;
        assert.equal(goTimeUnixSeconds(sec) < 0, wraps || sec < 0n);
      }),
      propertyParameters(),
    );
  });
});
