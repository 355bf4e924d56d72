// What way A cannot keep and way B does (headlamp-way-b-resilience.test.ts): Headlamp v0.45.0
// keeps each user's refresh token in its process memory, keyed by the id token
// (cmd/headlamp.go's /oidc-callback: config.Cache.Set("oidc-token-<id token>", refresh token);
// the cache is cache.New in cmd/server.go), so after a Headlamp restart (a new pod, or a second
// replica) the next refresh finds nothing: the user's id token expires and they must sign in again.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type HeadlampBed, log, sleep, startHeadlampBed, tokenLifespanSeconds } from "../helpers/headlamp-bed.ts";
import { pageText, waitForText } from "../helpers/headlamp-browser.ts";
import { loginWayA, startWayA, type WayA } from "../helpers/headlamp-way-a.ts";

describe("Headlamp v0.45.0 way A: a Headlamp restart", { timeout: 900_000 }, () => {
  let hb: HeadlampBed;
  let wayA: WayA;

  before(async () => {
    hb = await startHeadlampBed();
    wayA = await startWayA(hb);
  });

  after(async () => {
    await wayA?.stop();
    await hb?.stop();
  });

  it("loses the users' refresh tokens: after the next expiry the user must sign in again", async () => {
    const { headlamp } = wayA;
    const context = await hb.browser.newContext();
    const page = await context.newPage();
    await loginWayA(context, page, headlamp.url, "/c/main/configmaps");
    const createConfigMap = async (name: string) => {
      const result = await hb.bed.kubectl(["create", "configmap", name, "--namespace=default"]);
      assert.equal(result.code, 0, result.stderr);
      return name;
    };
    await waitForText(page, await createConfigMap("way-a-restart-before"), 30_000);
    const loggedInAt = Date.now();

    await headlamp.restart();
    const restartLogFrom = headlamp.logs().length;
    // Past the id token's expiry (Headlamp refreshes only within 10 s of it, on a request).
    await sleep(Math.max(0, loggedInAt + tokenLifespanSeconds * 1000 + 5_000 - Date.now()));
    await page.reload();
    const after = await createConfigMap("way-a-restart-after");
    let listed = true;
    await waitForText(page, after, 30_000).catch(() => {
      listed = false;
    });
    const text = await pageText(page);
    const signIn = await page.getByRole("button", { name: "Sign In" }).count();
    const headlampLog = headlamp.logs().slice(restartLogFrom);
    log(
      `way A restart report: list shows the new object: ${listed}; "Sign In" buttons: ${signIn}; ` +
        `Headlamp logged "failed to refresh token": ${headlampLog.includes("failed to refresh token")}; page: ${text.slice(0, 300)}`,
    );
    assert.match(
      headlampLog,
      /failed to refresh token/,
      "Headlamp had no refresh token for the user after its restart",
    );
    assert.ok(!listed, "the list no longer loads for the user without a new login");
    assert.ok(signIn >= 1, "Headlamp asks the user to sign in again");
    await context.close();
  });
});
