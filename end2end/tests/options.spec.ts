// A download's choices besides the quality (#17): the part of the video,
// subtitles, tags, the audio format and bitrate; what the page shows for
// them and what it sends. Screenshots land in test-results/screenshots/.
import { expect, test, type Page, type Request } from "@playwright/test";
import { fixture, noHorizontalScroll, noSeriousA11yViolations, openApp } from "./helpers";

const shots = "test-results/screenshots";

async function lookUp(page: Page, link: string) {
  // The server's answer, to compare the page's estimates with.
  const answer = page.waitForResponse((r) => r.url().endsWith("/api/video-info"));
  await page.getByLabel("Video link").fill(link);
  await page.getByRole("button", { name: "Get info" }).click();
  await expect(page.getByTestId("video-card")).toBeVisible();
  return (await (await answer).json()).info;
}

const isStart = (path: string) => (r: Request) => r.method() === "POST" && new URL(r.url()).pathname === path;

/** Clicks the card's Download button and gives the body it sent. */
async function download(page: Page, path = "/api/download", name: string | RegExp = "Download") {
  const sent = page.waitForRequest(isStart(path));
  const answered = page.waitForResponse((r) => isStart(path)(r.request()));
  await page.getByTestId("video-card").getByRole("button", { name, exact: typeof name === "string" }).click();
  const body = (await sent).postDataJSON();
  expect((await answered).status(), JSON.stringify(body)).toBe(200);
  return body;
}

/** `bytes` of contract::format in English: powers of 1000, one decimal under 10. */
function humanBytes(n: number) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 999.5 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const number = unit === 0 ? String(n) : value < 9.95 ? (Math.round(value * 10) / 10).toFixed(1) : String(Math.round(value));
  return `${number}\u00a0${units[unit]}`;
}

test("a part of the video: its size, the slider follows the fields, and the file is named after it", async ({ page }) => {
  await openApp(page);
  const info = await lookUp(page, `${fixture}/watch/main`);
  const card = page.getByTestId("video-card");
  const clip = card.getByTestId("clip");
  await card.locator('[data-quality="360"]').click();
  const size360 = info.qualities.find((q: { id: string }) => q.id === "360").filesize_approx as number;
  expect(size360).toBeGreaterThan(0);

  // The whole video at first: nothing cut, the whole size.
  await expect(clip.getByTestId("clip-start")).toHaveValue("0:00");
  await expect(clip.getByTestId("clip-end")).toHaveValue("0:20");
  await expect(clip.getByTestId("clip-summary")).toHaveText(`Whole video: 20\u00a0s · ≈ ${humanBytes(size360)}`);

  await clip.getByLabel("Start", { exact: true }).fill("0:04");
  await clip.getByLabel("End", { exact: true }).fill("8");
  // A fifth of the time, a fifth of the size (integer division, as the page does it).
  const part = Math.floor(size360 / 20_000) * 4_000 + Math.floor(((size360 % 20_000) * 4_000) / 20_000);
  await expect(clip.getByTestId("clip-summary")).toHaveText(`Clip: 4\u00a0s · ≈ ${humanBytes(part)}`);
  await expect(clip.getByTestId("clip-start-handle")).toHaveValue("4");
  await expect(clip.getByTestId("clip-end-handle")).toHaveValue("8");
  await expect(clip.getByTestId("clip-error")).toBeHidden();
  await clip.getByLabel("End", { exact: true }).press("Tab");
  await expect(clip.getByTestId("clip-end")).toHaveValue("8");
  await page.screenshot({ path: `${shots}/options-clip-desktop-en.png`, fullPage: true });

  const saved = page.waitForEvent("download", { timeout: 60_000 });
  const body = await download(page);
  expect(body).toMatchObject({ quality: "360", start: "0:04", end: "0:08" });
  expect(body.tags).toBeUndefined();
  expect(body.audio_format).toBeUndefined();
  const file = await saved;
  expect(file.suggestedFilename()).toContain("(0m04s-0m08s)");
  expect(file.suggestedFilename()).toMatch(/\.mp4$/);
  const row = page.getByTestId("download").first();
  await expect(row).toHaveAttribute("data-status", "completed");

  // "Whole video" undoes the cut: nothing is sent then.
  await clip.getByRole("button", { name: "Whole video" }).click();
  await expect(clip.getByTestId("clip-end")).toHaveValue("0:20");
  await expect(clip.getByRole("button", { name: "Whole video" })).toBeHidden();
  const whole = await download(page);
  expect(whole.start).toBeUndefined();
  expect(whole.end).toBeUndefined();
});

test("the slider's handles move by keyboard and never cross", async ({ page }) => {
  await openApp(page);
  await lookUp(page, `${fixture}/watch/main`);
  const clip = page.getByTestId("clip");
  const start = clip.getByRole("slider", { name: "Move the start" });
  const end = clip.getByRole("slider", { name: "Move the end" });
  await start.focus();
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await expect(clip.getByTestId("clip-start")).toHaveValue("0:02");
  await expect(start).toHaveAttribute("aria-valuetext", "0:02");
  await end.focus();
  await page.keyboard.press("Home");
  // The end stops a second after the start.
  await expect(clip.getByTestId("clip-end")).toHaveValue("0:03");
  await expect(end).toHaveValue("3");
  await start.focus();
  await page.keyboard.press("End");
  await expect(clip.getByTestId("clip-start")).toHaveValue("0:02");
  await expect(start).toHaveValue("2");
  await expect(clip.getByTestId("clip-summary")).toContainText("Clip: 1\u00a0s");
});

test("a wrong range is explained in the page's language and nothing is sent", async ({ page }) => {
  const posts: string[] = [];
  page.on("request", (r) => {
    if (isStart("/api/download")(r)) posts.push(r.url());
  });
  await openApp(page);
  await lookUp(page, `${fixture}/watch/main`);
  const card = page.getByTestId("video-card");
  const clip = card.getByTestId("clip");
  await clip.getByLabel("Start", { exact: true }).fill("0:08");
  await clip.getByLabel("End", { exact: true }).fill("0:04");
  // Not while typing: once the field is left.
  await expect(clip.getByTestId("clip-error")).toBeHidden();
  await clip.getByLabel("End", { exact: true }).press("Tab");
  const error = clip.getByTestId("clip-error");
  await expect(error).toHaveText("The clip's end must come at least half a second after its start.");
  await expect(clip.getByTestId("clip-end")).toHaveAttribute("aria-invalid", "true");
  await card.getByRole("button", { name: "Download", exact: true }).click();
  await expect(error).toBeVisible();
  await page.screenshot({ path: `${shots}/options-clip-error-desktop-en.png`, fullPage: true });
  await noSeriousA11yViolations(page, "clip error");

  await page.locator('a[hreflang="ru"]').click();
  await expect(error).toHaveText("Конец фрагмента должен быть хотя бы на полсекунды позже начала.");
  // The fields are written again in Russian, with what was typed.
  await expect(clip.getByLabel("Начало", { exact: true })).toHaveValue("0:08");
  await expect(clip.getByLabel("Конец", { exact: true })).toHaveAttribute("aria-invalid", "true");
  await card.getByRole("button", { name: "Скачать", exact: true }).click();
  await expect(error).toBeVisible();

  // Not a time at all, and past the end of the video.
  await clip.getByLabel("Начало", { exact: true }).fill("1:75");
  await clip.getByLabel("Начало", { exact: true }).press("Tab");
  await expect(error).toContainText("Начало или конец фрагмента — не время.");
  await expect(error).toContainText("1:02:03.5");
  await expect(clip.getByTestId("clip-start")).toHaveAttribute("aria-invalid", "true");
  await expect(clip.getByTestId("clip-end")).not.toHaveAttribute("aria-invalid", "true");
  await clip.getByLabel("Начало", { exact: true }).fill("0:05");
  await clip.getByLabel("Конец", { exact: true }).fill("0:45");
  await clip.getByLabel("Конец", { exact: true }).press("Tab");
  await expect(error).toHaveText("Фрагмент должен быть внутри видео, а оно длится 0:20.");
  await page.setViewportSize({ width: 390, height: 844 });
  await noHorizontalScroll(page);
  await page.screenshot({ path: `${shots}/options-clip-error-phone-ru.png`, fullPage: true });
  await card.getByRole("button", { name: "Скачать", exact: true }).click();

  // A fix takes the error away at once.
  await clip.getByLabel("Конец", { exact: true }).fill("0:15");
  await expect(error).toBeHidden();
  await page.waitForTimeout(300);
  expect(posts).toEqual([]);
});

test("subtitles: the video's languages to pick, where they go, and as what", async ({ page }) => {
  await openApp(page);
  await lookUp(page, `${fixture}/subtitled`);
  const card = page.getByTestId("video-card");
  // yt-dlp does not know this video's length: no part to cut.
  await expect(card.getByTestId("clip")).toHaveCount(0);
  const more = card.getByTestId("more-options");
  await expect(more.locator("> summary")).toContainText("Subtitles");
  await more.locator("> summary").click();
  const subs = card.locator(".subs");
  await expect(subs.locator("[data-lang]")).toHaveCount(2);
  // The site names them only by their codes.
  await expect(subs.locator("[data-lang]")).toHaveText(["en", "ru"]);
  await expect(subs.getByRole("radio")).toHaveCount(0);

  await subs.locator('[data-lang="en"]').click();
  await expect(subs.getByRole("radio", { name: "Into the video" })).toBeChecked();
  await expect(subs.getByRole("radio", { name: "SRT" })).toHaveCount(0);
  const embedded = await download(page);
  expect(embedded.subtitles).toEqual(["en"]);
  expect(embedded.subtitle_mode).toBe("embed");
  expect(embedded.subtitle_format).toBeUndefined();

  // Files beside the video, as WebVTT, and both languages; no tags.
  await subs.getByRole("radio", { name: "In files beside it (ZIP)" }).check();
  await subs.getByRole("radio", { name: "WebVTT" }).check();
  await subs.locator('[data-lang="ru"]').click();
  await card.getByRole("switch", { name: /Write title, artist/ }).uncheck();
  await page.screenshot({ path: `${shots}/options-subtitles-desktop-en.png`, fullPage: true });
  await noSeriousA11yViolations(page, "subtitles");
  const files = await download(page);
  expect(files).toMatchObject({ subtitles: ["en", "ru"], subtitle_mode: "files", subtitle_format: "vtt", tags: false });

  // The tags switch is remembered.
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await lookUp(page, `${fixture}/subtitled`);
  await card.getByTestId("more-options").locator("> summary").click();
  await expect(card.getByRole("switch", { name: /Write title, artist/ })).not.toBeChecked();
});

test("many automatic languages fold away under a filter; at most 20 can be picked", async ({ page }) => {
  // The fixture has only its own two: the answer gets a site's worth of
  // automatic ones (speech recognition, machine translated).
  const automatic = [
    ["af", "Afrikaans"], ["ar", "العربية"], ["bg", "Български"], ["cs", "Čeština"], ["da", "Dansk"],
    ["de", "Deutsch"], ["el", "Ελληνικά"], ["es", "Español"], ["fi", "Suomi"], ["fr", "Français"],
    ["he", "עברית"], ["hi", "हिन्दी"], ["hu", "Magyar"], ["id", "Indonesia"], ["it", "Italiano"],
    ["ja", "日本語"], ["ko", "한국어"], ["nl", "Nederlands"], ["pl", "Polski"], ["pt", "Português"],
    ["sv", "Svenska"], ["tr", "Türkçe"], ["uk", "Українська"], ["zh-Hans", null],
  ] as const;
  await page.route("**/api/video-info", async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    for (const [lang, name] of automatic) json.info.subtitles.push({ lang, ...(name ? { name } : {}), automatic: true });
    await route.fulfill({ response, json });
  });
  await openApp(page);
  await lookUp(page, `${fixture}/subtitled`);
  const card = page.getByTestId("video-card");
  await card.getByTestId("more-options").locator("> summary").click();
  const subs = card.locator(".subs");
  const group = subs.locator(".sub-automatic");
  await expect(group.locator("summary")).toHaveText(`Automatic subtitles (${automatic.length})`);
  await expect(group.locator('[data-lang="de"]')).toBeHidden();
  await group.locator("summary").click();
  // The site's name, marked as that language, then the code.
  await expect(group.locator('[data-lang="de"] span')).toHaveText(["Deutsch", "de"]);
  await expect(group.locator('[data-lang="de"] span').first()).toHaveAttribute("lang", "de");
  await expect(group.locator('[data-lang="zh-Hans"]')).toHaveText("zh-Hans");

  await group.getByRole("searchbox", { name: "Filter languages" }).fill("Port");
  await expect(group.locator("label:visible")).toHaveCount(1);
  await group.locator('[data-lang="pt"]').click();
  await group.getByRole("searchbox", { name: "Filter languages" }).fill("");
  await expect(group.locator("label:visible")).toHaveCount(automatic.length);
  await page.setViewportSize({ width: 390, height: 844 });
  await noHorizontalScroll(page);
  await card.screenshot({ path: `${shots}/options-automatic-subtitles-390-en.png` });
  await noSeriousA11yViolations(page, "automatic subtitles");

  // The server takes 20 languages at most: the page says so, and a 21st
  // does not stay ticked.
  await expect(subs).toContainText("Up to 20 languages at once.");
  await subs.locator('[data-lang="en"]').click();
  await subs.locator('[data-lang="ru"]').click();
  for (const [lang] of automatic.slice(0, 17)) await group.locator(`[data-lang="${lang}"]`).click();
  await expect(subs.locator("input[type=checkbox]:checked")).toHaveCount(20);
  await group.locator('[data-lang="sv"]').click();
  await expect(group.locator('[data-lang="sv"] input')).not.toBeChecked();
  await expect(subs.locator("input[type=checkbox]:checked")).toHaveCount(20);
  // The choices survive a change of language (the fields are written again).
  await page.locator('a[hreflang="ru"]').click();
  await expect(subs.locator("legend").first()).toHaveText("Субтитры");
  await expect(subs.locator("input[type=checkbox]:checked")).toHaveCount(20);
  await expect(group.locator('[data-lang="pt"] input')).toBeChecked();
});

test("sound only: a format and a bitrate, none for FLAC; the playlist card has them too", async ({ page }) => {
  await openApp(page);
  await lookUp(page, `${fixture}/watch/muxed`);
  const card = page.getByTestId("video-card");
  await expect(card.locator(".audio-options")).toBeHidden();
  await card.locator('[data-quality="audio"]').click();
  const format = card.getByLabel("Format");
  const bitrate = card.getByLabel("Bitrate");
  await expect(format).toHaveValue("m4a");
  await expect(bitrate).toHaveValue("");
  await expect(card.locator('[data-quality="audio"] .quality-hint')).toHaveText("M4A (AAC)");
  await format.selectOption("mp3");
  await bitrate.selectOption("192");
  await expect(card.locator('[data-quality="audio"] .quality-hint')).toHaveText("MP3");
  const mp3 = await download(page);
  expect(mp3).toMatchObject({ quality: "audio", audio_format: "mp3", audio_bitrate: 192 });

  await format.selectOption("flac");
  await expect(bitrate).toBeHidden();
  const flac = await download(page);
  expect(flac.audio_format).toBe("flac");
  expect(flac.audio_bitrate).toBeUndefined();

  // Back to a video quality: the audio choices go, and are not sent.
  await card.locator('[data-quality="360"]').click();
  await expect(card.locator(".audio-options")).toBeHidden();
  const video = await download(page);
  expect(video.audio_format).toBeUndefined();

  // Several links: the same choices for all, and tags; no part, no subtitles.
  await page.getByLabel("Video link").fill(`${fixture}/watch/muxed ${fixture}/watch/progressive`);
  await page.getByRole("button", { name: "Get info" }).click();
  await expect(card).toHaveAttribute("data-playlist", "true");
  await expect(card.getByTestId("clip")).toHaveCount(0);
  await card.locator('[data-quality="audio"]').click();
  await card.getByLabel("Format").selectOption("opus");
  await card.getByLabel("Bitrate").selectOption("128");
  await card.getByTestId("more-options").locator("> summary").click();
  await expect(card.locator(".subs")).toHaveCount(0);
  await card.getByRole("switch", { name: /Write title, artist/ }).uncheck();
  await noHorizontalScroll(page);
  const batch = await download(page, "/api/download-batch", /Download 2/);
  expect(batch).toMatchObject({ quality: "audio", audio_format: "opus", audio_bitrate: 128, tags: false });
  expect(batch.start).toBeUndefined();
  expect(batch.subtitles).toBeUndefined();
});

// The card with the clip control, as people see it: wide and narrow, in
// both languages; nothing runs off the side.
for (const lang of ["en", "ru"] as const) {
  for (const width of [1280, 390]) {
    test(`the card with the clip control fits at ${width} px (${lang})`, async ({ browser }) => {
      const context = await browser.newContext({
        baseURL: test.info().project.use.baseURL,
        viewport: { width, height: 900 },
        locale: lang === "en" ? "en-US" : "ru-RU",
        isMobile: width < 500,
        hasTouch: width < 500,
      });
      const page = await context.newPage();
      await openApp(page);
      await page.getByRole("textbox").first().fill(`${fixture}/watch/main`);
      await page.locator("form button[type=submit]").click();
      const card = page.getByTestId("video-card");
      await expect(card.getByTestId("clip")).toBeVisible();
      await card.getByTestId("clip-start").fill("0:04");
      await card.getByTestId("clip-end").fill("0:08");
      await card.locator('[data-quality="audio"]').click();
      await card.getByTestId("more-options").locator("> summary").click();
      await noHorizontalScroll(page);
      await noSeriousA11yViolations(page, `card at ${width} px (${lang})`);
      await card.screenshot({ path: `${shots}/options-card-${width}-${lang}.png` });
      await context.close();
    });
  }
}
