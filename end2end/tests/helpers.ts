// What every browser test needs: the fixture site's address and a page
// that is ready to be used.
import { expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
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

/** Nothing on the page reaches past the right edge of the viewport. */
export async function noHorizontalScroll(page: Page) {
  // Compared with the size asked for: a phone browser widens its layout
  // viewport to fit content that overflows, so innerWidth grows with it.
  const width = page.viewportSize()!.width;
  const wide = await page.evaluate(
    (width) =>
      Array.from(document.querySelectorAll<HTMLElement>("body *"))
        .filter((el) => el.getBoundingClientRect().right > width + 0.5)
        .map((el) => `${el.tagName}.${el.className}`),
    width,
  );
  expect(wide).toEqual([]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
}

/** axe-core finds nothing serious or critical (WCAG 2.1 A and AA). */
export async function noSeriousA11yViolations(page: Page, label: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const summary = bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(summary, `axe on ${label}`).toEqual([]);
}
