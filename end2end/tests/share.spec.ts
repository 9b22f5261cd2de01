// Sending a link to Kachay without copying it: the web app manifest's
// share_target (a phone's "Share → Kachay" opens `/?text=…` or `/?url=…`),
// and the bookmarklet for desktop browsers.
import { expect, test } from "@playwright/test";
import { fixture, openApp } from "./helpers";

test("the manifest makes Kachay installable and a share target", async ({ page, request }) => {
  await openApp(page);
  const href = await page.locator('link[rel="manifest"]').getAttribute("href");
  expect(href).toBe("/manifest.webmanifest");
  const answer = await request.get(href!);
  expect(answer.ok()).toBeTruthy();
  const manifest = await answer.json();
  expect(manifest.start_url).toBe("/");
  expect(manifest.display).toBe("standalone");
  expect(manifest.share_target).toEqual({
    action: "/",
    method: "GET",
    params: { title: "title", text: "text", url: "url" },
  });
  const sizes = manifest.icons.map((icon: { sizes: string }) => icon.sizes);
  expect(sizes).toEqual(expect.arrayContaining(["192x192", "512x512"]));
  expect(manifest.icons.some((icon: { purpose: string }) => icon.purpose === "maskable")).toBeTruthy();
  for (const icon of manifest.icons) {
    const image = await request.get(icon.src);
    expect(image.ok(), icon.src).toBeTruthy();
    expect(image.headers()["content-type"]).toMatch(/^image\//);
  }
});

test("a link shared from a phone app (inside the text) is looked up at once", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const link = `${fixture}/watch/main`;
  // What the share sheet sends to the manifest's share_target: the app's
  // words and the link, in `text`.
  const shared = new URLSearchParams({ title: "Тестовое видео", text: `Look at this ${link}` });
  await openApp(page, `/?${shared}`);
  await expect(page.getByLabel("Video link")).toHaveValue(link);
  await expect(page.getByTestId("video-card")).toBeVisible();
  await expect(page.getByTestId("video-card")).toContainText("Тестовое видео");
  await page.screenshot({ path: "test-results/screenshots/shared-link-phone.png", fullPage: true });
});

test("the bookmarklet sends the page it is clicked on to this server", async ({ page, baseURL }) => {
  await openApp(page);
  const link = page.getByTestId("bookmarklet").getByRole("link", { name: "Send to Kachay" });
  await expect(link).toBeVisible();
  const href = await link.getAttribute("href");
  const origin = new URL(baseURL!).origin;
  expect(href).toBe(`javascript:location.href='${origin}/?url='+encodeURIComponent(location.href)`);
  // What it does on a video's page: open this server with that address.
  await page.goto(`${fixture}/watch/main`);
  await page.evaluate((script) => {
    // The same expression the bookmark runs, on the fixture's page.
    new Function(script.replace(/^javascript:/, ""))();
  }, href!);
  await page.waitForURL(/\/\?url=/);
  await expect(page.getByLabel("Video link")).toHaveValue(`${fixture}/watch/main`);
  await expect(page.getByTestId("video-card")).toBeVisible();
});
