// What each page makes a browser download, and how soon /login is usable on a slow link.
// Loads every page in Chromium (Debian's, through the end-to-end tests' Playwright) with an
// empty cache and sums the JavaScript and WebAssembly it fetched: as sent (the server gzips
// them) and gzipped at level 9 whatever the server did, so the figure does not depend on it.
// Then loads /login over an emulated 1.6 Mbit/s link with 150 ms round trips and times it
// until its islands have hydrated. Prints `name=value` lines for benches/run.
//
//   node benches/page_weight.mjs http://127.0.0.1:3299
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";

const require = createRequire(new URL("../end2end/package.json", import.meta.url));
const { chromium } = require("@playwright/test");

const base = process.argv[2];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });

// A signed-in session for /account, through the REST surface.
const name = `weight${Date.now().toString(36)}`;
const password = "correct horse battery staple";
await fetch(`${base}/v2/auth/register`, {
  method: "POST",
  body: new URLSearchParams({ username: name, email_address: `${name}@example.com`, password }),
});
const login = await fetch(`${base}/v2/auth/login`, {
  method: "POST",
  body: JSON.stringify({ username: name, password }),
});
const { token } = await login.json();

const pages = [
  ["home", "/"],
  ["login", "/login"],
  ["register", "/register"],
  ["account", "/account"],
  ["password", "/password"],
  ["forgot_password", "/forgot/password"],
  ["reset_step", "/forgot/password?token=benchmark"],
  ["reset_link", "/reset-password?token=benchmark"],
];

for (const [key, path] of pages) {
  const context = await browser.newContext();
  await context.addCookies([{ name: "latchkey_session", value: token, url: base }]);
  const page = await context.newPage();
  const fetched = [];
  page.on("response", (response) => {
    const url = response.url();
    if (/\.(js|wasm)(\?|$)/.test(url)) fetched.push(response);
  });
  await page.goto(base + path, { waitUntil: "load" });
  // Islands load on idle: give them the time to.
  await page.waitForTimeout(1500);
  let sent = 0;
  let gzipped = 0;
  for (const response of fetched) {
    const body = await response.body();
    sent += (await response.request().sizes()).responseBodySize;
    gzipped += gzipSync(body, { level: 9 }).length;
  }
  console.log(`page_${key}_files=${fetched.length}`);
  console.log(`page_${key}_sent_bytes=${sent}`);
  console.log(`page_${key}_gzip_bytes=${gzipped}`);
  await context.close();
}

// Time to interactive on a slow link, three loads, the median.
const times = [];
for (let run = 0; run < 3; run++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1024 * 1024) / 8,
    uploadThroughput: (750 * 1024) / 8,
  });
  const started = Date.now();
  await page.goto(`${base}/login`, { waitUntil: "commit" });
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached", timeout: 120_000 });
  times.push(Date.now() - started);
  await context.close();
}
times.sort((a, b) => a - b);
console.log(`login_interactive_slow_ms=${times[1]}`);
await browser.close();
