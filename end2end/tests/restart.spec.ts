// Downloads survive a reload, a fresh browser and a server restart.
//
// The suite's own server (started by `cargo leptos end-to-end`) cannot be
// restarted from here, so this spec starts a second server process of the
// same build on its own port, directories and job database, stops it with
// SIGTERM and starts it again on the same directories.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fixture } from "./helpers";

const root = path.resolve(__dirname, "../..");
const port = Number(process.env.RESTART_TEST_PORT ?? 3107);
const base = `http://127.0.0.1:${port}`;

function serverBinary(): string {
  const candidates = [
    process.env.KACHAY_SERVER_BIN,
    path.join(root, "target/debug/server"),
    path.join(root, "target/release/server"),
  ].filter((p): p is string => !!p);
  const found = candidates.filter((p) => fs.existsSync(p));
  // The newest build: the one `cargo leptos end-to-end` just made.
  found.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (!found[0]) throw new Error(`no server binary in ${candidates.join(", ")}`);
  return found[0];
}

async function startServer(dirs: { downloads: string; data: string }): Promise<ChildProcess> {
  const child = spawn(serverBinary(), [], {
    cwd: root,
    env: {
      ...process.env,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: "target/site",
      LEPTOS_OUTPUT_NAME: "kachay",
      DOWNLOAD_DIR: dirs.downloads,
      DATA_DIR: dirs.data,
      ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8",
      TRUSTED_PROXIES: "",
      YTDLP: process.env.YTDLP ?? path.join(root, ".venv/bin/yt-dlp"),
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the second server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGKILL");
  throw new Error("the second server did not start");
}

async function stopServer(child: ChildProcess) {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

async function open(page: Page) {
  await page.goto(`${base}/`);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

async function freshPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ acceptDownloads: true });
  return context.newPage();
}

test("the finished download is still listed after a reload, in a fresh browser and after a server restart", async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const dirs = {
    downloads: fs.mkdtempSync(path.join(os.tmpdir(), "kachay-e2e-dl-")),
    data: fs.mkdtempSync(path.join(os.tmpdir(), "kachay-e2e-data-")),
  };
  let server = await startServer(dirs);
  try {
    const page = await freshPage(browser);
    await open(page);
    await page.getByLabel("Video link").fill(`${fixture}/watch/muxed`);
    await page.getByRole("button", { name: "Get info" }).click();
    await expect(page.getByTestId("video-card")).toBeVisible();
    await page.locator('[data-quality="360"] input').check();
    const saved = page.waitForEvent("download", { timeout: 120_000 });
    await page.getByRole("button", { name: "Download" }).click();
    const first = await saved;
    const size = fs.statSync((await first.path())!).size;
    expect(size).toBeGreaterThan(10_000);
    const row = page.getByTestId("download").first();
    await expect(row).toHaveAttribute("data-status", "completed");
    const id = await row.getAttribute("data-id");
    expect(id).toBeTruthy();

    // A reload: the row is there, finished.
    await page.reload();
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    const again = page.locator(`[data-testid="download"][data-id="${id}"]`);
    await expect(again).toHaveAttribute("data-status", "completed");

    // A fresh browser (no localStorage): filled from the server's history.
    const other = await freshPage(browser);
    await open(other);
    const listed = other.locator(`[data-testid="download"][data-id="${id}"]`);
    await expect(listed).toHaveAttribute("data-status", "completed");
    await expect(listed).toContainText("360p");

    // The server restarts; a third fresh browser still sees it, and
    // "Save again" hands over the same file.
    await stopServer(server);
    server = await startServer(dirs);
    const third = await freshPage(browser);
    await open(third);
    const kept = third.locator(`[data-testid="download"][data-id="${id}"]`);
    await expect(kept).toHaveAttribute("data-status", "completed");
    const save = kept.getByTestId("save");
    await expect(save).toHaveText(/Save again/);
    const download = third.waitForEvent("download");
    await save.click();
    const second = await download;
    expect(fs.statSync((await second.path())!).size).toBe(size);
    expect(second.suggestedFilename()).toBe(first.suggestedFilename());
  } finally {
    await stopServer(server).catch(() => {});
    fs.rmSync(dirs.downloads, { recursive: true, force: true });
    fs.rmSync(dirs.data, { recursive: true, force: true });
  }
});
