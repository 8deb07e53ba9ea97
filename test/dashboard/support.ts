// Shared by the dashboard's browser tests: Debian's Chromium driven by playwright-core, a browser
// context that refuses (and records) every request to another origin, and a login through the page.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { TokenClaims } from "../../src/http/dev-keys.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOTS = path.resolve(import.meta.dirname, "../../docs/images");
export const skipWithoutChromium = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`;

export function launchChromium(): Promise<Browser> {
  // playwright starts every launch on a fresh temporary profile of its own (it refuses --user-data-dir here).
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A context on `base` that aborts any request leaving for another origin and records it in `foreign`. */
export async function sameOriginContext(browser: Browser, base: string, foreign: string[]): Promise<BrowserContext> {
  const ctx = await browser.newContext({ baseURL: base });
  const origin = new URL(base).origin;
  await ctx.route("**/*", (route) => {
    const u = route.request().url();
    if (!u.startsWith(origin)) {
      foreign.push(u);
      return route.abort();
    }
    return route.continue();
  });
  return ctx;
}

/** Logs in through the login page with a token for `claims`; returns the overview page. */
export async function loginPage(ctx: BrowserContext, token: (claims: TokenClaims) => Promise<string>, claims: TokenClaims, prefix = ""): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${prefix}/dashboard/`);
  assert.match(page.url(), /\/dashboard\/login$/);
  await page.fill("textarea[name=token]", await token(claims));
  await page.click("form[action$='/session'] button");
  await page.waitForURL(/\/dashboard\/$/);
  return page;
}

/** Reloads `page` until `check` holds (the state comes from another part of the system: a worker, a scheduler). */
export async function reloadUntil<T>(page: Page, what: string, check: () => Promise<T | undefined | false | null>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what} on ${page.url()}:\n${await page.locator("main").textContent()}`);
    await page.waitForTimeout(200);
    await page.reload();
  }
}
