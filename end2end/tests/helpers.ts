// What every browser test needs: the fixture site's address and a page
// that is ready to be used.
import { expect, type Page } from "@playwright/test";
import { fixturePort } from "../playwright.config";

export const fixture = `http://127.0.0.1:${fixturePort}`;

/** Opens `path` and waits for hydration: a click before it would be lost. */
export async function openApp(page: Page, path = "/") {
  await page.goto(path);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}
