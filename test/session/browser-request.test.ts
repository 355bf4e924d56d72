import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isNavigation, isSameOrigin, safeReturnPath } from "../../src/session/browser-request.ts";
import { readCookies, setCookie, withoutCookies } from "../../src/session/cookies.ts";

describe("browser requests", () => {
  it("tells navigations (redirect to login) from fetch/XHR (JSON 401)", () => {
    assert.equal(isNavigation("GET", { "sec-fetch-mode": "navigate" }), true);
    assert.equal(isNavigation("GET", { "sec-fetch-mode": "cors", accept: "text/html" }), false);
    assert.equal(isNavigation("POST", { "sec-fetch-mode": "navigate" }), false);
    assert.equal(isNavigation("GET", { accept: "text/html,application/xhtml+xml" }), true);
    assert.equal(isNavigation("GET", { accept: "text/html", "x-requested-with": "XMLHttpRequest" }), false);
    assert.equal(isNavigation("GET", { accept: "application/json" }), false);
  });

  it("returns only to local paths after login (no open redirect)", () => {
    assert.equal(safeReturnPath("/c/main/pods?x=1"), "/c/main/pods?x=1");
    for (const hostile of [
      "//evil.example",
      "/\\evil.example",
      "https://evil.example/",
      "evil",
      "/a\r\nSet-Cookie: x",
      "",
      null,
    ]) {
      assert.equal(safeReturnPath(hostile), "/", String(hostile));
    }
  });

  it("accepts cookie use from the gateway's own origin only", () => {
    const origin = "https://k8s.example.com";
    assert.equal(isSameOrigin({ origin, "sec-fetch-site": "same-origin" }, origin), true);
    assert.equal(isSameOrigin({ origin: "https://evil.example" }, origin), false);
    assert.equal(isSameOrigin({ origin, "sec-fetch-site": "cross-site" }, origin), false);
    assert.equal(isSameOrigin({ "sec-fetch-site": "same-origin" }, origin), true);
    assert.equal(isSameOrigin({}, origin), false, "no Origin and no Fetch Metadata: not a browser we can vouch for");
  });
});

describe("cookies", () => {
  it("reads the first of each name and drops the gateway's own before forwarding", () => {
    const header = "a=1; __Host-kog-session=sealed; b=2; a=3; __Host-kog-login-abc=x";
    assert.equal(readCookies(header).get("a"), "1");
    assert.equal(readCookies(header).get("__Host-kog-session"), "sealed");
    assert.equal(
      withoutCookies(header, (n) => n.startsWith("__Host-kog-")),
      "a=1; b=2; a=3",
    );
  });

  it("writes Secure, HttpOnly, SameSite=Lax, Path=/ cookies", () => {
    assert.equal(
      setCookie("__Host-kog-session", "v", 90.7),
      "__Host-kog-session=v; Path=/; Max-Age=90; Secure; HttpOnly; SameSite=Lax",
    );
    assert.match(setCookie("n", "", -5), /Max-Age=0;/);
  });
});
