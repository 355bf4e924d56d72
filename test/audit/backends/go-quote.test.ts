// Go's %q, as go1.26.8 printed these strings (fmt.Sprintf("%q", s)); the legacy format's
// differential test compares generated strings with kube-apiserver's own code.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { goIsPrint } from "../../../src/audit/backends/go-isprint.ts";
import { goQuote } from "../../../src/audit/backends/go-quote.ts";

const printedByGo: [string, string][] = [
  ["plain", '"plain"'],
  ['quote"back\\slash', '"quote\\"back\\\\slash"'],
  ["\x07\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'],
  ["\x00\x1f\x7f", '"\\x00\\x1f\\x7f"'],
  ["\u00a0\u00ad\u2028\ufeff", '"\\u00a0\\u00ad\\u2028\\ufeff"'],
  ["é日本😀", '"é日本😀"'],
  // Assigned in Unicode 16, after Go 1.26's tables: escaped by Go, printable to Node 24.
  ["\u{1cc00}\u{1fae9}", '"\\U0001cc00\\U0001fae9"'],
  ["\u{e0001}\u{10ffff}", '"\\U000e0001\\U0010ffff"'],
  ["\ufffd", '"\ufffd"'],
];

describe("goQuote (Go's %q)", () => {
  for (const [input, expected] of printedByGo) {
    it(`${JSON.stringify(input)} → ${expected}`, () => {
      assert.equal(goQuote(input), expected);
    });
  }

  it("a lone surrogate is what Go's JSON decoder makes of it, U+FFFD", () => {
    assert.equal(goQuote("a\ud800b\udfff"), '"a\ufffdb\ufffd"');
  });

  it("goIsPrint follows Go's table, not Node's Unicode", () => {
    assert.equal(goIsPrint(0x20), true);
    assert.equal(goIsPrint(0xa0), false, "no-break space is not printable to Go");
    assert.equal(goIsPrint(0x1cc00), false);
    assert.equal(/\p{S}/u.test("\u{1cc00}"), true, "while Node 24 knows it as a symbol");
    assert.equal(goIsPrint(0x10ffff), false);
    assert.equal(goIsPrint(0x1f600), true);
  });
});
