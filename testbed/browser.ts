// A real browser for end-to-end tests: Debian's Chromium driven by playwright-core (never a
// downloaded browser). Background networking is off: this machine's closed network refuses
// Chromium's calls home. The bed's certificates come from a per-run CA that Chromium does not
// know, so contexts ignore certificate errors; what is tested is the login and session logic.
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium } from "playwright-core";

export const chromiumPath = "/usr/bin/chromium";

export interface TestBrowser {
  readonly browser: Browser;
  newContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} not found: install Debian's chromium (.ci/run does)`);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ], // playwright gives each launch a new, empty profile of its own
  });
  return {
    browser,
    newContext: () => browser.newContext({ ignoreHTTPSErrors: true }),
    close: async () => {
      await browser.close().catch(() => {});
    },
  };
}
