import { defineConfig } from "@playwright/test";

// The release build is served on its own port with a throwaway data directory, so the tests
// never touch ./data and can run beside `scripts/serve`.
const port = 3100;
// The browser reaches the site by name, as people do: WebAuthn refuses IP addresses, so
// passkeys work only so. The server listens on 127.0.0.1, which `localhost` resolves to.
export const baseURL = `http://localhost:${port}`;
// Two nodes on PostgreSQL behind nginx (proxy-cluster.sh), for proxy.spec.ts.
const proxyPort = 3200;
export const proxyURL = `http://127.0.0.1:${proxyPort}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [["list"], ["json", { outputFile: "test-results/results.json" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      // Playwright cannot download its browser here; Debian's Chromium is used instead.
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [{
    command: "rm -rf .data && exec ../target/release/latchkey",
    url: `http://127.0.0.1:${port}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      LATCHKEY_DATA_DIR: ".data",
      LATCHKEY_LISTEN: `127.0.0.1:${port}`,
      LATCHKEY_PUBLIC_URL: baseURL,
      LEPTOS_SITE_ROOT: "../target/site",
      LEPTOS_SITE_PKG_DIR: "pkg",
      LEPTOS_OUTPUT_NAME: "latchkey",
      // Every simulated user comes from 127.0.0.1; the per-address limits are proven by the
      // HTTP tests (tests/hardening.rs), so here they are off. Per-account lockouts stay on.
      LATCHKEY_LOGINS_PER_ADDRESS_PER_MINUTE: "0",
      LATCHKEY_REGISTRATIONS_PER_ADDRESS_PER_HOUR: "0",
      LATCHKEY_SENDS_PER_ADDRESS_PER_HOUR: "0",
      LATCHKEY_PASSCODE_CHECKS_PER_ADDRESS_PER_HOUR: "0",
    },
  }, {
    command: `exec ./proxy-cluster.sh ${proxyPort}`,
    url: `${proxyURL}/login`,
    reuseExistingServer: false,
    timeout: 120_000,
    // SIGTERM lets the script stop its nodes, nginx and any cluster it started.
    gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
    stdout: "pipe",
    stderr: "pipe",
  }],
});
