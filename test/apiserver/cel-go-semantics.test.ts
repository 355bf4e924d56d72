// CEL as cel-go v0.29.2 evaluates it for kube-apiserver v1.37.2: each case here was found by (or
// checked against) the generated differential, test/authn/differential-cel-generated.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CelError, claimsValue, compileExpression, formatGoDouble } from "../../src/apiserver/cel.ts";

const claims = claimsValue({ s: "Ab(", n: 1.5, sl: ["a", "ä"], re: "(a)\\1" });
const run = (expression: string) => compileExpression(expression, "claims", "strings").evaluate({ claims });
const refusedAtLoad = (expression: string, message: RegExp) =>
  assert.throws(
    () => compileExpression(expression, "claims", "strings"),
    (error: Error) => {
      assert.ok(error instanceof CelError);
      assert.match(error.message, message);
      return true;
    },
  );

describe("CEL as cel-go evaluates it", () => {
  it("matches() is RE2: flags, Unicode and POSIX classes, \\z", () => {
    assert.equal(run("string('abc'.matches('(?i)^AB'))"), "true");
    assert.equal(run("string('é'.matches('^\\\\p{L}$'))"), "true");
    assert.equal(run("string('ab1'.matches('^[[:alpha:]]+$'))"), "false");
    assert.equal(run("string('ab'.matches('b\\\\z'))"), "true");
    assert.equal(run("string('😀'.matches('^.$'))"), "true");
  });
  it("a backreference or lookahead from a claim fails per token", () => {
    assert.throws(() => run("string('aa'.matches(claims.re))"), CelError);
  });
  it("an invalid literal pattern is refused at load, as is a literal subject of matches(s, p)", () => {
    refusedAtLoad("string(claims.s.matches('(?=a)'))", /error parsing regexp/);
    refusedAtLoad("string(matches('+3', claims.s))", /error parsing regexp/);
  });
  it("string(double) formats as Go's %g", () => {
    assert.equal(formatGoDouble(1234567), "1.234567e+06");
    assert.equal(formatGoDouble(0.00001), "1e-05");
    assert.equal(formatGoDouble(123456.7), "123456.7");
    assert.equal(formatGoDouble(1e21), "1e+21");
    assert.equal(formatGoDouble(-0), "-0");
    assert.equal(formatGoDouble(Number.POSITIVE_INFINITY), "+Inf");
    assert.equal(run("string(claims.n * 1000000.0)"), "1.5e+06");
  });
  it("ext.Strings counts code points and lowers ASCII only", () => {
    assert.equal(run("'ÄB'.lowerAscii()"), "Äb");
    assert.equal(run("'äb'.upperAscii()"), "äB");
    assert.equal(run("string('a😀b'.indexOf('b'))"), "2");
    assert.equal(run("'😀b'.substring(1)"), "b");
    assert.equal(run("'a😀b'.charAt(1)"), "😀");
    assert.equal(run("'a😀'.split('').join(',')"), "a,😀");
    assert.equal(run("'ab'.replace('', '-', 2)"), "-a-b");
    assert.equal(run("' \\u0085a\\ufeff'.trim()"), "a\ufeff");
  });
  it("conversions parse and range-check as Go", () => {
    assert.throws(() => run("string(int(claims.n * 1e19))"), /integer overflow/);
    assert.throws(() => run("string(int(claims.s + '0b11'))"), CelError);
    assert.equal(run("string(bool([claims.s][0].size() > 0 ? 'T' : 'F'))"), "true");
    assert.throws(() => run("string(uint(-claims.n))"), /unsigned integer overflow/);
    // Found by the generated differential (seed 1277203994): -(-2^63) is an overflow in cel-go.
    assert.throws(() => run("string([-(-9223372036854775808)][0])"), /integer overflow/);
    // Found by the generated differential (seed 1032277460): an operation that does not check
    // its result (%, /, comparisons) hid the overflowed value, so the negation itself must fail,
    // as must -2^63 / -1 and -2^63 % -1 (cel-go common/types/overflow.go).
    assert.throws(() => run("string(-(-9223372036854775808) % size(claims.sl))"), /integer overflow/);
    assert.throws(() => run("string(-(-9223372036854775808) > 0)"), /integer overflow/);
    assert.throws(() => run("string(-9223372036854775808 / (size(claims.sl) - 3))"), /integer overflow/);
    assert.throws(() => run("string(-9223372036854775808 % (size(claims.sl) - 3))"), /integer overflow/);
    assert.equal(run("string(-9223372036854775808)"), "-9223372036854775808");
    assert.equal(run("string(-7 % 3)"), "-1");
  });
  it("a conversion of a constant that fails is refused at load, even where it is never reached", () => {
    refusedAtLoad("string(bool('x'))", /program instantiation failed/);
    refusedAtLoad("true ? 'a' : string(uint(-1))", /program instantiation failed: unsigned integer overflow/);
    refusedAtLoad("string(int(-9223372036854775808.0))", /integer overflow/);
    assert.equal(run("true ? 'a' : string(uint(-(1)))"), "a");
  });
  it("a comprehension over a claim (type any) is refused at load; over dyn() it runs", () => {
    refusedAtLoad("claims.sl.map(x, x).join(',')", /type 'any' cannot be range of a comprehension/);
    assert.equal(run("dyn(claims.sl).map(x, x).join(',')"), "a,ä");
  });
  it("an expression using a library kube-apiserver enables but the gateway lacks is refused at load (a documented difference)", () => {
    for (const expression of ["'%s'.format([claims.s])", "strings.quote(claims.s)", "url('https://x').getHost()"]) {
      assert.throws(() => compileExpression(expression, "claims", "strings"), CelError, expression);
    }
  });
});
