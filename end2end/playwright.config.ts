import { defineConfig, devices } from "@playwright/test";

// The app under test: started by `cargo leptos end-to-end` (or by hand) on
// LEPTOS_SITE_ADDR; global-setup waits until it answers.
const appUrl = process.env.APP_URL ?? "http://127.0.0.1:3000";
// The offline fixture video site (fixture crate), started here.
export const fixturePort = Number(process.env.FIXTURE_PORT ?? 4010);

export default defineConfig({
  testDir: "./tests",
  timeout: 90_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"], ["html", { open: "never" }]],
  globalSetup: "./global-setup.ts",
  outputDir: "test-results",
  use: {
    baseURL: appUrl,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  webServer: {
    command: `cargo run --quiet -p fixture -- --addr 127.0.0.1:${fixturePort}`,
    cwd: "..",
    url: `http://127.0.0.1:${fixturePort}/health`,
    reuseExistingServer: true,
    timeout: 600_000,
    stdout: "pipe",
    stderr: "pipe",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
          ],
        },
      },
    },
  ],
});
