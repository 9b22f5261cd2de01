import { expect, test, type Page } from "@playwright/test";
import * as fs from "node:fs";
import { fixture, openApp } from "./helpers";

async function lookUp(page: Page, link: string) {
  await page.getByLabel("Video link").fill(link);
  await page.getByRole("button", { name: "Get info" }).click();
  await expect(page.getByTestId("video-card")).toBeVisible();
}

test("pick 480p, watch the bar move, and the browser saves the file", async ({ page, request }) => {
  await openApp(page);
  // The whole site throttled (not each connection: the engine opens
  // several), so the progress is visible.
  await lookUp(page, `${fixture}/k/total=300001/watch/main`);
  await page.locator('[data-quality="480"] input').check();

  const saved = page.waitForEvent("download", { timeout: 120_000 });
  await page.getByRole("button", { name: "Download" }).click();

  const row = page.getByTestId("download").first();
  await expect(row).toContainText("480p");
  const percent = async () => parseFloat((await row.getByTestId("percent").textContent()) ?? "0");
  // The bar moves: a value strictly between 0 and 100 shows up…
  await expect.poll(percent, { timeout: 60_000, intervals: [100] }).toBeGreaterThan(0);
  const early = await percent();
  expect(early).toBeLessThan(100);
  await expect(row).toContainText(/\/s/); // a speed is shown while bytes move
  await page.screenshot({ path: "test-results/screenshots/download-running.png", fullPage: true });

  // …then the browser's own download starts by itself.
  const download = await saved;
  expect(download.suggestedFilename()).toContain("Тестовое видео");
  expect(download.suggestedFilename()).toMatch(/\.mp4$/);
  await expect(row).toHaveAttribute("data-status", "completed");
  await expect(row.getByTestId("percent")).toHaveText("100.0%");
  await expect(row.getByTestId("save")).toBeVisible();
  await page.screenshot({ path: "test-results/screenshots/download-done.png", fullPage: true });

  const path = await download.path();
  const size = fs.statSync(path!).size;
  const id = await row.getAttribute("data-id");
  const file = await request.get(`/api/file/${id}`);
  expect(file.status()).toBe(200);
  expect(size).toBe((await file.body()).length);
  expect(size).toBeGreaterThan(10_000);
});

test("cancel from the page stops the download", async ({ page, request }) => {
  await openApp(page);
  await lookUp(page, `${fixture}/k/rate=80000/watch/main`);
  await page.locator('[data-quality="1080"] input').check();
  await page.getByRole("button", { name: "Download" }).click();
  const row = page.getByTestId("download").first();
  await expect(row).toHaveAttribute("data-status", "downloading", { timeout: 30_000 });
  await row.getByRole("button", { name: "Cancel" }).click();
  await expect(row).toHaveAttribute("data-status", "cancelled", { timeout: 5_000 });
  await expect(row).toContainText("Cancelled");
  await expect(row.getByRole("button", { name: "Cancel" })).toHaveCount(0);
  const id = await row.getAttribute("data-id");
  const status = await (await request.get(`/api/status/${id}`)).json();
  expect(status.status).toBe("cancelled");
});

test("two downloads run side by side, each in its own row", async ({ page }) => {
  await openApp(page);
  await lookUp(page, `${fixture}/k/rate=300000/watch/muxed`);
  await page.locator('[data-quality="360"] input').check();
  await page.getByRole("button", { name: "Download" }).click();
  await page.locator('[data-quality="audio"] input').check();
  await page.getByRole("button", { name: "Download" }).click();
  const rows = page.getByTestId("download");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText("Audio only");
  await expect(rows.nth(1)).toContainText("360p");
  for (const i of [0, 1]) {
    await expect(rows.nth(i)).toHaveAttribute("data-status", "completed", { timeout: 90_000 });
  }
});

test("several links pasted at once become one list, one download each", async ({ page }) => {
  await openApp(page);
  const links = [`${fixture}/watch/muxed`, `${fixture}/watch/progressive`];
  // Pasted with line breaks (a text field would glue the lines together).
  await page.getByLabel("Video link").evaluate((input, text) => {
    const data = new DataTransfer();
    data.setData("text", text);
    input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, links.join("\n"));
  const card = page.getByTestId("video-card");
  await expect(card).toHaveAttribute("data-playlist", "true");
  // Headed as the person's own links, not as a site's playlist.
  await expect(card.locator(".kicker")).toHaveText("Several links");
  const items = card.locator(".pl-item");
  await expect(items).toHaveCount(2);
  await expect(items.nth(0)).toContainText(links[0]);
  await card.locator('[data-quality="360"]').click();
  await card.getByRole("button", { name: /Download 2/ }).click();
  const rows = page.getByTestId("download");
  await expect(rows).toHaveCount(2);
  for (const i of [0, 1]) {
    await expect(rows.nth(i)).toHaveAttribute("data-status", "completed", { timeout: 90_000 });
  }
  // Typed with spaces works the same way.
  await page.getByLabel("Video link").fill(links.join(" "));
  await page.getByRole("button", { name: "Get info" }).click();
  await expect(page.getByTestId("video-card").locator(".pl-item")).toHaveCount(2);
});

test("a link the server refuses in a list is reported in the page's language, the rest start", async ({ page }) => {
  await openApp(page, "/?lang=ru");
  // 10.0.0.0/8 is a private network the egress guard refuses (only 127.0.0.0/8 is allowed here).
  const links = [`${fixture}/watch/muxed`, "http://10.0.0.1/watch/1"];
  await page.getByLabel("Ссылка на видео").fill(links.join(" "));
  await page.getByRole("button", { name: "Найти" }).click();
  const card = page.getByTestId("video-card");
  await expect(card.locator(".pl-item")).toHaveCount(2);
  await card.locator('[data-quality="360"]').click();
  await card.getByRole("button", { name: /Скачать 2/ }).click();
  const alert = card.getByRole("alert");
  await expect(alert).toContainText("1\u00a0видео не удалось запустить");
  await expect(alert).toContainText("http://10.0.0.1/watch/1: С этого адреса сервер не скачивает.");
  await expect(alert).not.toContainText("does not download");
  const rows = page.getByTestId("download");
  await expect(rows).toHaveCount(1);
  await expect(rows.nth(0)).toHaveAttribute("data-status", "completed", { timeout: 90_000 });
});
