// What every browser test needs: the fixture site's address and a page
// that is ready to be used.
import { expect, type Page } from "@playwright/test";
import { fixturePort } from "../playwright.config";

export const fixture = `http://127.0.0.1:${fixturePort}`;

const identities = new WeakMap<Page, string>();

/**
 * A client address of its own for each page: the page's download list is
 * also filled from the server's history of the caller's downloads, so tests
 * that share one server would otherwise see each other's rows. The test run
 * starts the server with TRUSTED_PROXIES=127.0.0.1/32, so it believes this
 * header; without it the header is ignored and every page is 127.0.0.1.
 * Random, because the server's job store outlives one run of the suite.
 */
async function ownClient(page: Page) {
  if (identities.has(page)) return;
  const octet = (n: number) => Math.floor(Math.random() * n);
  const ip = `100.${64 + octet(64)}.${octet(256)}.${1 + octet(254)}`;
  identities.set(page, ip);
  await page.setExtraHTTPHeaders({ "x-forwarded-for": ip });
}

/** Opens `path` and waits for hydration: a click before it would be lost. */
export async function openApp(page: Page, path = "/") {
  await ownClient(page);
  await page.goto(path);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}
