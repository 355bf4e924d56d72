// What the Headlamp end-to-end tests watch in Chromium: Headlamp's "Lost connection to the
// cluster." banner (frontend/src/components/common/AlertNotification.tsx of v0.45.0), a tab frozen
// as a browser freezes a background tab, objects appearing in a list without a reload, and
// everything the page's JavaScript could read (cookies, storage, response bodies).
import type { BrowserContext, Page, Response } from "playwright-core";

// These functions run in the page: the project's TypeScript has no DOM types, so the page's
// globals are described by the little they use.
interface PageStorage {
  readonly length: number;
  key(i: number): string | null;
  getItem(key: string): string | null;
}
interface PageGlobals {
  readonly document: { readonly body: { readonly textContent: string | null } | null; readonly cookie: string };
  readonly localStorage: PageStorage;
  readonly sessionStorage: PageStorage;
  __kogBanner(): void;
}

/** The banner's English text (the i18n key in frontend/src/i18n/locales/en/translation.json). */
export const lostConnectionText = "Lost connection to the cluster";

export interface BannerWatch {
  /** When each banner appeared (ms since epoch), counted once per appearance. */
  readonly appearances: number[];
}

/**
 * Counts appearances of the banner in every page of the context: a check every 250 ms of the
 * page's text, counting each change from absent to present (a frozen tab runs no timers, so a
 * banner shown while frozen is counted when it thaws, as the user would see it).
 */
export async function watchBanners(context: BrowserContext): Promise<BannerWatch> {
  const watch: BannerWatch = { appearances: [] };
  await context.exposeBinding("__kogBanner", () => {
    watch.appearances.push(Date.now());
  });
  await context.addInitScript((text: string) => {
    const page = globalThis as unknown as PageGlobals;
    let shown = false;
    setInterval(() => {
      const now = page.document.body?.textContent?.includes(text) ?? false;
      if (now && !shown) page.__kogBanner();
      shown = now;
    }, 250);
  }, lostConnectionText);
  return watch;
}

/**
 * The counter's positive control: resolves once a banner appears after `from` appearances (e.g.
 * once the API is gone), so a test asserting "no banner" knows the counter can see one.
 */
export async function bannerAppears(watch: BannerWatch, from: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (watch.appearances.length > from) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/**
 * Freezes the tab for `ms` as Chromium freezes a background tab (Page Lifecycle API): CDP's
 * Page.setWebLifecycleState "frozen" stops its timers, tasks and network callbacks, "active"
 * resumes them. Open connections stay open, as in a real frozen tab.
 */
export async function freezeTab(page: Page, ms: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
  try {
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    await cdp.send("Page.setWebLifecycleState", { state: "active" });
    await cdp.detach().catch(() => {});
  }
}

/** Resolves once `name` shows in the page (a list row), without reloading it. */
export async function waitForText(page: Page, name: string, timeoutMs: number): Promise<void> {
  await page.waitForFunction(
    (text: string) => (globalThis as unknown as PageGlobals).document.body?.textContent?.includes(text) ?? false,
    name,
    {
      timeout: timeoutMs,
      polling: 250,
    },
  );
}

/** The page's text, for failure messages. */
export function pageText(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).document.body?.textContent ?? "");
}

/** Every response body the context's pages received (text only), for "no token reached the page". */
export function collectResponseBodies(context: BrowserContext): { bodies: { url: string; body: string }[] } {
  const collected = { bodies: [] as { url: string; body: string }[] };
  const onResponse = async (response: Response) => {
    try {
      const body = await response.text();
      collected.bodies.push({ url: response.url(), body });
    } catch {
      // Redirects and aborted requests have no body.
    }
  };
  context.on("response", (response) => {
    void onResponse(response);
  });
  return collected;
}

/** What the page's JavaScript can read: document.cookie, localStorage and sessionStorage. */
export async function scriptVisibleState(page: Page): Promise<string> {
  return page.evaluate(() => {
    const { document, localStorage, sessionStorage } = globalThis as unknown as PageGlobals;
    const storage = (s: PageStorage) => {
      const out: Record<string, string | null> = {};
      for (let i = 0; i < s.length; i++) {
        const key = s.key(i) ?? "";
        out[key] = s.getItem(key);
      }
      return out;
    };
    return JSON.stringify({
      cookie: document.cookie,
      localStorage: storage(localStorage),
      sessionStorage: storage(sessionStorage),
    });
  });
}

/** Waits for `name` in the list; a name that takes more than 30 s is recorded as late. */
async function appears(page: Page, name: string, late: string[]): Promise<void> {
  try {
    await waitForText(page, name, 30_000);
  } catch {
    late.push(name);
  }
}

export interface LiveListRun {
  readonly page: Page;
  /** Names the objects: `<label>-<n>`, `<label>-frozen-<n>`. */
  readonly label: string;
  /** From the login: the run lasts five token lifetimes from here. */
  readonly loggedInAt: number;
  readonly lifespanSeconds: number;
  readonly frozenMs: number;
  /** Creates a ConfigMap of that name (as the admin) and returns the name. */
  readonly create: (name: string) => Promise<string>;
  readonly log: (line: string) => void;
}

/**
 * The run: five token lifetimes from the login, a new object every 10 s that must show in
 * the open list (a watch), and the tab frozen for `frozenMs` from 1.5 lifetimes with three objects
 * created while it sleeps, which must show once it wakes. Returns the names that were late (> 30 s).
 */
export async function keepListLive(run: LiveListRun): Promise<string[]> {
  const { page, label } = run;
  const end = run.loggedInAt + 5 * run.lifespanSeconds * 1000;
  const freezeAt = run.loggedInAt + 1.5 * run.lifespanSeconds * 1000;
  const late: string[] = [];
  let frozen = false;
  for (let i = 1; Date.now() < end; i++) {
    if (!frozen && Date.now() >= freezeAt) {
      frozen = true;
      const whileFrozen: string[] = [];
      const freezing = freezeTab(page, run.frozenMs);
      for (let j = 0; j < 3; j++) {
        await new Promise((resolve) => setTimeout(resolve, run.frozenMs / 4));
        whileFrozen.push(await run.create(`${label}-frozen-${j}`));
      }
      await freezing;
      run.log(`${label}: thawed after ${run.frozenMs / 1000} s`);
      for (const name of whileFrozen) await appears(page, name, late);
      continue;
    }
    await appears(page, await run.create(`${label}-${i}`), late);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
  return late;
}
