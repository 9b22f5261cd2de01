// The interface: the whole flow at desktop and phone sizes, in English and
// Russian, light and dark; keyboard only; the download list surviving a
// reload; themes and languages remembered; an axe-core check; and the page
// without JavaScript. Screenshots land in test-results/screenshots/.
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { fixture, noHorizontalScroll, noSeriousA11yViolations, openApp } from "./helpers";

const shots = "test-results/screenshots";

type Lang = "en" | "ru";
type Theme = "light" | "dark";

const T = {
  en: {
    locale: "en-US",
    link: "Video link",
    getInfo: "Get info",
    download: "Download",
    cancel: "Cancel",
    remove: "Remove",
    done: "Done",
    views: "1,234,567",
    mb: /\d(\.\d)?\sMB/,
    size: /\d(\.\d)?\s(KB|MB)/,
    speed: /\sMB\/s|\sKB\/s/,
    percentDone: "100.0%",
    badLink: "does not look like a link",
    noVideo: "No video was found",
    expired: "No longer on the server",
    audio: "Audio only",
  },
  ru: {
    locale: "ru-RU",
    link: "Ссылка на видео",
    getInfo: "Найти",
    download: "Скачать",
    cancel: "Отменить",
    remove: "Убрать",
    done: "Готово",
    views: /^1\s234\s567$/,
    mb: /\d(,\d)?\sМБ/,
    size: /\d(,\d)?\s(КБ|МБ)/,
    speed: /\sМБ\/с|\sКБ\/с/,
    percentDone: /^100,0\s%$/,
    badLink: "Это не похоже на ссылку",
    noVideo: "видео не нашлось",
    expired: "Файла больше нет на сервере",
    audio: "Только звук",
  },
} as const;

const sizes = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 360, height: 740 },
} as const;

async function newContext(
  browser: Browser,
  opts: { lang?: Lang; theme?: Theme; device?: keyof typeof sizes; js?: boolean } = {},
): Promise<BrowserContext> {
  const device = opts.device ?? "desktop";
  return browser.newContext({
    baseURL: test.info().project.use.baseURL,
    viewport: sizes[device],
    isMobile: device === "phone",
    hasTouch: device === "phone",
    locale: T[opts.lang ?? "en"].locale,
    colorScheme: opts.theme ?? "light",
    javaScriptEnabled: opts.js ?? true,
    acceptDownloads: true,
  });
}

async function lookUp(page: Page, lang: Lang, link: string) {
  await page.getByLabel(T[lang].link).fill(link);
  await page.getByRole("button", { name: T[lang].getInfo }).click();
}

/** Every visible button, link and choice is at least 44×44 CSS pixels. */
async function touchTargetsAreLarge(page: Page) {
  const small = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>("button, a[href], label.quality, input[type=text]"))
      .filter((el) => el.offsetParent !== null && !el.closest(".footer"))
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ r }) => r.width < 44 || r.height < 44)
      .map(({ el, r }) => `${el.tagName} "${el.textContent?.trim()}" ${Math.round(r.width)}x${Math.round(r.height)}`),
  );
  expect(small).toEqual([]);
}

// lookup → pick → download → done, in every combination; a screenshot each.
for (const device of ["desktop", "phone"] as const) {
  for (const theme of ["light", "dark"] as const) {
    for (const lang of ["en", "ru"] as const) {
      test(`flow: ${device}, ${theme}, ${lang}`, async ({ browser }) => {
        const context = await newContext(browser, { device, theme, lang });
        const page = await context.newPage();
        await openApp(page);
        // The server rendered the language from Accept-Language and the page
        // follows prefers-color-scheme.
        await expect(page.locator("html")).toHaveAttribute("lang", lang);
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        expect(bg === "rgb(15, 17, 21)").toBe(theme === "dark");
        await page.screenshot({ path: `${shots}/${device}-${theme}-${lang}-start.png`, fullPage: true });

        await lookUp(page, lang, `${fixture}/watch/main`);
        const card = page.getByTestId("video-card");
        await expect(card.getByTestId("title")).toContainText("Тестовое видео");
        await expect(card.getByTestId("views")).toHaveText(T[lang].views);
        await expect(card.getByTestId("duration")).toHaveText("0:20");
        await expect(card.locator('[data-quality="720"] .quality-size')).toHaveText(T[lang].mb);
        await expect(card.locator('[data-quality="audio"]')).toContainText(T[lang].audio);
        await noHorizontalScroll(page);
        if (device === "phone") await touchTargetsAreLarge(page);
        await page.screenshot({ path: `${shots}/${device}-${theme}-${lang}-card.png`, fullPage: true });

        await card.locator('[data-quality="360"]').click();
        await expect(card.locator('[data-quality="360"] input')).toBeChecked();
        const saved = page.waitForEvent("download", { timeout: 60_000 });
        await page.getByRole("button", { name: T[lang].download, exact: true }).click();
        const row = page.getByTestId("download").first();
        await expect(row).toContainText("360p");
        await saved;
        await expect(row).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
        await expect(row.getByTestId("percent")).toHaveText(T[lang].percentDone);
        await expect(row).toContainText(T[lang].done);
        await expect(row.locator(".download-text")).toContainText(T[lang].size);
        await expect(row.getByTestId("save")).toBeVisible();
        await noHorizontalScroll(page);
        if (device === "phone") await touchTargetsAreLarge(page);
        await page.screenshot({ path: `${shots}/${device}-${theme}-${lang}.png`, fullPage: true });
        await context.close();
      });
    }
  }
}

test("speed and time left read the language's way while bytes move", async ({ browser }) => {
  const context = await newContext(browser, { lang: "ru" });
  const page = await context.newPage();
  await openApp(page);
  // The whole site at 150 kB/s: the native engine's many connections
  // together stay slow enough to watch (and cancel) the download.
  await lookUp(page, "ru", `${fixture}/k/total=150001/watch/main`);
  await page.getByTestId("video-card").locator('[data-quality="480"]').click();
  await page.getByRole("button", { name: T.ru.download, exact: true }).click();
  const row = page.getByTestId("download").first();
  await expect(row.locator(".download-text")).toContainText(T.ru.speed, { timeout: 60_000 });
  await expect(row.locator(".download-text")).toContainText(" из ");
  await page.screenshot({ path: `${shots}/desktop-light-ru-running.png`, fullPage: true });
  await row.getByRole("button", { name: T.ru.cancel }).click();
  await expect(row).toHaveAttribute("data-status", "cancelled");
  await expect(row).toContainText("Отменено");
  await context.close();
});

test("errors are shown in the page's language", async ({ browser }) => {
  for (const lang of ["en", "ru"] as const) {
    const context = await newContext(browser, { lang });
    const page = await context.newPage();
    await openApp(page);
    await lookUp(page, lang, "not a link");
    await expect(page.getByTestId("lookup-error")).toContainText(T[lang].badLink);
    await lookUp(page, lang, `${fixture}/notvideo`);
    await expect(page.getByTestId("lookup-error")).toContainText(T[lang].noVideo);
    await context.close();
  }
});

test("keyboard only: find, pick, download, save again, remove", async ({ browser }) => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await openApp(page);
  const focusedId = () => page.evaluate(() => document.activeElement?.id ?? "");
  for (let i = 0; i < 12 && (await focusedId()) !== "url"; i++) await page.keyboard.press("Tab");
  expect(await focusedId()).toBe("url");
  await page.keyboard.type(`${fixture}/watch/muxed`);
  await page.keyboard.press("Enter");
  const card = page.getByTestId("video-card");
  await expect(card).toBeVisible();

  // Tab passes the part to download (two handles, two fields) and reaches
  // the quality group; arrows pick; the focus ring is visible.
  const focusedQuality = () =>
    page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.closest("[data-quality]")?.getAttribute("data-quality") ?? "");
  for (let i = 0; i < 10 && (await focusedQuality()) === ""; i++) await page.keyboard.press("Tab");
  expect(await focusedQuality()).toBe("auto");
  await page.keyboard.press("ArrowLeft");
  expect(await focusedQuality()).toBe("360");
  await expect(card.locator('[data-quality="360"] input')).toBeChecked();
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement!.closest("label")!).outlineStyle);
  expect(ring).not.toBe("none");

  // Then "More options" (folded), then the button.
  await page.keyboard.press("Tab");
  await expect(card.getByTestId("more-options").locator("> summary")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Download", exact: true })).toBeFocused();
  const saved = page.waitForEvent("download", { timeout: 60_000 });
  await page.keyboard.press("Enter");
  await saved;
  const row = page.getByTestId("download").first();
  await expect(row).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(row.getByTestId("save")).toHaveText("Save again");

  // On to the row (past "Clear finished"): Save again, then Remove.
  const saveFocused = () => row.getByTestId("save").evaluate((el) => el === document.activeElement);
  for (let i = 0; i < 4 && !(await saveFocused()); i++) await page.keyboard.press("Tab");
  await expect(row.getByTestId("save")).toBeFocused();
  const again = page.waitForEvent("download");
  await page.keyboard.press("Enter");
  await again;
  await page.keyboard.press("Tab");
  await expect(row.getByRole("button", { name: "Remove" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("download")).toHaveCount(0);
  // Focus went somewhere sensible, not to the page's end. The page moves it
  // a tick after the row is gone, so this waits for it rather than looking once.
  await expect.poll(focusedId, { timeout: 2_000 }).toBe("url");
  await context.close();
});

test("the download list survives a reload", async ({ browser }) => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await openApp(page);

  // A finished download…
  await lookUp(page, "en", `${fixture}/watch/muxed`);
  await page.getByTestId("video-card").locator('[data-quality="audio"]').click();
  let saved = page.waitForEvent("download", { timeout: 60_000 });
  await page.getByRole("button", { name: "Download", exact: true }).click();
  await saved;
  const finishedId = await page.getByTestId("download").first().getAttribute("data-id");
  await expect(page.getByTestId("download").first()).toHaveAttribute("data-status", "completed");

  // …and a slow one still running.
  await lookUp(page, "en", `${fixture}/k/total=100001/watch/main`);
  await page.getByTestId("video-card").locator('[data-quality="480"]').click();
  await page.getByRole("button", { name: "Download", exact: true }).click();
  const running = page.getByTestId("download").first();
  await expect(running).toHaveAttribute("data-status", "downloading", { timeout: 30_000 });
  const runningId = await running.getAttribute("data-id");
  expect(runningId).not.toBe(finishedId);

  // Plus one the server never heard of (an expired job).
  await page.evaluate(() => {
    const list = JSON.parse(localStorage.getItem("kachay_downloads") ?? "[]");
    list.push({ id: "00000000-0000-4000-8000-000000000000", title: "Old video", quality: "720", label: "720p", saved: true });
    localStorage.setItem("kachay_downloads", JSON.stringify(list));
  });

  let downloadsAfterReload = 0;
  page.on("download", () => downloadsAfterReload++);
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const rows = page.getByTestId("download");
  await expect(rows).toHaveCount(3);
  const byId = (id: string | null) => page.locator(`[data-testid="download"][data-id="${id}"]`);
  await expect(byId(finishedId)).toHaveAttribute("data-status", "completed");
  await expect(byId(finishedId).getByTestId("save")).toBeVisible();
  const expired = page.locator('[data-testid="download"][data-id="00000000-0000-4000-8000-000000000000"]');
  await expect(expired).toHaveAttribute("data-status", "expired");
  await expect(expired).toContainText(T.en.expired);
  await page.screenshot({ path: `${shots}/reload-restored.png`, fullPage: true });

  // The running one is followed again and finishes; the browser saves it
  // (and only it: the finished one was saved before the reload).
  saved = page.waitForEvent("download", { timeout: 90_000 });
  await expect(byId(runningId)).toHaveAttribute("data-status", /downloading|merging|completed/);
  await saved;
  await expect(byId(runningId)).toHaveAttribute("data-status", "completed", { timeout: 90_000 });
  expect(downloadsAfterReload).toBe(1);

  // Remove forgets a row for good.
  await expired.getByRole("button", { name: "Remove" }).click();
  await expect(rows).toHaveCount(2);
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(rows).toHaveCount(2);
  await context.close();
});

test("theme and language switches are remembered, with no flash on the next load", async ({ browser }) => {
  const context = await newContext(browser, { theme: "light" });
  const page = await context.newPage();
  await openApp(page);
  const html = page.locator("html");
  await expect(html).not.toHaveAttribute("data-theme", /./);

  await page.getByRole("link", { name: "Dark" }).click();
  await expect(html).toHaveAttribute("data-theme", "dark");
  await expect(page.getByRole("link", { name: "Dark" })).toHaveAttribute("aria-current", "true");
  await page.locator('a[hreflang="ru"]').click();
  await expect(html).toHaveAttribute("lang", "ru");
  await expect(page.getByRole("button", { name: "Найти" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Тёмная" })).toHaveAttribute("aria-current", "true");

  // The next server render already has both (cookie), before any script.
  const served = await (await page.request.get("/")).text();
  expect(served).toMatch(/<html[^>]*lang="ru"/);
  expect(served).toMatch(/<html[^>]*data-theme="dark"/);
  expect(served).toContain("Найти");
  await page.reload();
  await expect(html).toHaveAttribute("data-theme", "dark");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByRole("link", { name: "Тёмная" })).toHaveAttribute("aria-current", "true");

  // Back to following the system (which is dark here).
  await page.emulateMedia({ colorScheme: "dark" });
  await page.getByRole("link", { name: "Как в системе" }).click();
  await expect(html).not.toHaveAttribute("data-theme", /./);
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe("rgb(15, 17, 21)");
  await page.emulateMedia({ colorScheme: "light" });
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe("rgb(15, 17, 21)");
  await context.close();
});

test("the Paste button and pasting into the field look the link up at once", async ({ browser }) => {
  const context = await newContext(browser);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: test.info().project.use.baseURL });
  const page = await context.newPage();
  await openApp(page);
  await page.evaluate((link) => navigator.clipboard.writeText(link), `${fixture}/watch/muxed`);
  await page.getByRole("button", { name: "Paste" }).click();
  await expect(page.getByLabel("Video link")).toHaveValue(`${fixture}/watch/muxed`);
  await expect(page.getByTestId("title")).toContainText("Muxed clip");
  // The address now names the video, so a reload or a shared link shows it.
  expect(new URL(page.url()).searchParams.get("url")).toBe(`${fixture}/watch/muxed`);

  await page.getByLabel("Video link").fill("");
  await page.evaluate((link) => navigator.clipboard.writeText(link), `${fixture}/watch/main`);
  await page.getByLabel("Video link").focus();
  await page.keyboard.press("Control+V");
  await expect(page.getByTestId("title")).toContainText("Тестовое видео");
  await context.close();
});

test("a playlist lists its videos; the ticked ones download in one go", async ({ browser }) => {
  const context = await newContext(browser, { lang: "ru", device: "phone" });
  const page = await context.newPage();
  await openApp(page);
  await lookUp(page, "ru", `${fixture}/playlist.rss`);
  const card = page.getByTestId("video-card");
  await expect(card).toHaveAttribute("data-playlist", "true");
  await expect(card.locator(".kicker")).toHaveText("Плейлист");
  const items = card.locator(".pl-item");
  await expect(items).toHaveCount(3);
  await expect(card.getByRole("button", { name: "Скачать 3 видео" })).toBeVisible();
  // Keep only the first two, in 360p.
  await items.nth(2).click();
  await expect(items.nth(2).locator("input")).not.toBeChecked();
  await card.locator('[data-quality="360"]').click();
  await noHorizontalScroll(page);
  await page.screenshot({ path: `${shots}/phone-light-ru-playlist.png`, fullPage: true });
  await card.getByRole("button", { name: "Скачать 2 видео" }).click();
  const rows = page.getByTestId("download");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText("Тестовое видео");
  await expect(rows.nth(1)).toContainText("Muxed clip");
  for (const i of [0, 1]) {
    await expect(rows.nth(i)).toHaveAttribute("data-status", "completed", { timeout: 90_000 });
  }
  // "Select none" and "Select all" flip every box.
  await card.getByRole("button", { name: "Выбрать все" }).click();
  await expect(card.getByRole("button", { name: "Скачать 3 видео" })).toBeVisible();
  await card.getByRole("button", { name: "Снять выбор" }).click();
  await expect(card.locator(".pl-item input:checked")).toHaveCount(0);
  await context.close();
});

test("a link in the address (?url=) is shown on load", async ({ browser }) => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await openApp(page, `/?url=${encodeURIComponent(`${fixture}/watch/muxed`)}`);
  await expect(page.getByLabel("Video link")).toHaveValue(`${fixture}/watch/muxed`);
  await expect(page.getByTestId("title")).toContainText("Muxed clip");
  await context.close();
});

test("accessibility: no serious or critical axe violations", async ({ browser }) => {
  for (const theme of ["light", "dark"] as const) {
    for (const lang of ["en", "ru"] as const) {
      const context = await newContext(browser, { theme, lang });
      const page = await context.newPage();
      await openApp(page);
      await noSeriousA11yViolations(page, `${theme}/${lang} start`);
      await lookUp(page, lang, `${fixture}/watch/muxed`);
      await expect(page.getByTestId("video-card")).toBeVisible();
      await noSeriousA11yViolations(page, `${theme}/${lang} card`);
      await page.getByTestId("video-card").locator('[data-quality="audio"]').click();
      const saved = page.waitForEvent("download", { timeout: 60_000 });
      await page.getByRole("button", { name: T[lang].download, exact: true }).click();
      await saved;
      await expect(page.getByTestId("download").first()).toHaveAttribute("data-status", "completed");
      await noSeriousA11yViolations(page, `${theme}/${lang} downloads`);
      await lookUp(page, lang, "not a link");
      await expect(page.getByTestId("lookup-error")).toBeVisible();
      await noSeriousA11yViolations(page, `${theme}/${lang} error`);
      await context.close();
    }
  }
});

test("without JavaScript the page renders, the form submits, the switches work", async ({ browser }) => {
  const context = await newContext(browser, { js: false });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.getByRole("button", { name: "Get info" })).toBeVisible();
  await page.getByLabel("Video link").fill(`${fixture}/watch/muxed`);
  await page.getByLabel("Video link").press("Enter");
  await expect(page).toHaveURL(/\?url=/);
  await expect(page.getByLabel("Video link")).toHaveValue(`${fixture}/watch/muxed`);
  // With the server's lookup hook the card is rendered on the server;
  // without it the page says that looking up needs JavaScript.
  await expect(page.getByTestId("video-card").or(page.locator(".no-js-only")).first()).toBeVisible();
  await page.screenshot({ path: `${shots}/no-js.png`, fullPage: true });

  await page.locator('a[hreflang="ru"]').click();
  await expect(page.locator("html")).toHaveAttribute("lang", "ru");
  await expect(page.getByRole("button", { name: "Найти" })).toBeVisible();
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("lang", "ru");
  await context.close();
});
