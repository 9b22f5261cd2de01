import { expect, test, type Page } from "@playwright/test";
import { fixture, openApp } from "./helpers";

async function lookUp(page: Page, link: string) {
  await page.getByLabel("Video link").fill(link);
  await page.getByRole("button", { name: "Get info" }).click();
}

test("a fixture link shows its title, thumbnail, facts and exactly its qualities", async ({ page }) => {
  await openApp(page);
  await lookUp(page, `${fixture}/watch/main`);

  const card = page.getByTestId("video-card");
  await expect(card.getByTestId("title")).toHaveText('Тестовое видео 🎬 "Кавычки" / Slash');
  await expect(card.getByTestId("duration")).toHaveText("0:20");
  await expect(card.getByTestId("views")).toHaveText("1,234,567");

  const thumbnail = card.getByTestId("thumbnail");
  await expect(thumbnail).toHaveAttribute("src", new RegExp(`^${fixture}/`));
  // The image really loaded (naturalWidth is 0 for a broken image).
  await expect.poll(() => thumbnail.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);

  const ids = await card.locator("[data-quality]").evaluateAll((els) => els.map((el) => el.getAttribute("data-quality")));
  expect(ids).toEqual(["1080", "720", "480", "360", "auto", "audio"]);
  // Sizes come from the real formats.
  await expect(card.locator('[data-quality="720"] .quality-size')).toHaveText(/≈ \d/);

  await page.screenshot({ path: "test-results/screenshots/lookup-desktop.png", fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: "test-results/screenshots/lookup-phone.png", fullPage: true });
});

test("a muxed stream offers only its heights, plus audio", async ({ page }) => {
  await openApp(page);
  await lookUp(page, `${fixture}/watch/muxed`);
  const card = page.getByTestId("video-card");
  await expect(card.getByTestId("title")).toContainText("Muxed clip");
  const ids = await card.locator("[data-quality]").evaluateAll((els) => els.map((el) => el.getAttribute("data-quality")));
  expect(ids).toEqual(["720", "360", "auto", "audio"]);
});

test("a bad link says what is wrong", async ({ page }) => {
  await openApp(page);
  await lookUp(page, "not a link");
  await expect(page.getByTestId("lookup-error")).toContainText("does not look like a link");
  await expect(page.getByTestId("video-card")).toHaveCount(0);
});

test("a page without a video says so", async ({ page }) => {
  await openApp(page);
  await lookUp(page, `${fixture}/notvideo`);
  await expect(page.getByTestId("lookup-error")).toContainText("No video was found");
});

test("the page is rendered on the server before any script runs", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.getByLabel("Video link")).toBeVisible();
  await expect(page.getByRole("button", { name: "Get info" })).toBeVisible();
  await context.close();
});

test("the status panel shows what the server's downloader runs on, in the page's language", async ({ page }) => {
  await openApp(page);
  const panel = page.getByTestId("status-panel");
  await panel.getByText("Server status").click();
  await expect(panel).toContainText(/yt-dlp: 20\d\d\.\d\d\.\d\d \(\d+ days old\)/);
  await expect(panel).toContainText(/ffmpeg: \d/);
  await expect(panel).toContainText(/JS runtime: deno \d/);
  // scripts/test.sh installs the bgutil plugin; yt-dlp's own -v lists it.
  await expect(panel).toContainText(/PO-token providers: [^\n]*bgutil:http/);
  // Kachay's own plugin is always loaded; no minter is configured here.
  await expect(panel).toContainText(/PO-token service: Kachay's plugin loaded; minted 0, from cache 0, failed 0/);
  await expect(panel).toContainText("PO-token minter: not configured (POT_PROVIDER_URL)");
  await expect(panel).toContainText("Cookies: not configured");
  await expect(panel).toContainText(/Free disk: [\d.]+\s[KMGT]B/);

  // Switching the language rewords the open panel.
  await page.getByRole("link", { name: "RU" }).click();
  await expect(panel.locator("summary")).toHaveText("Состояние сервера");
  await expect(panel).toContainText(/JS-движок: deno \d/);
  await expect(panel).toContainText("Cookies: не настроены");
  await expect(panel).toContainText(/Сервис PO-токенов: плагин Kachay загружен; выпущено 0/);
  await expect(panel).toContainText("Генератор PO-токенов: не настроен (POT_PROVIDER_URL)");
  await expect(panel).not.toContainText("JS runtime");
});
