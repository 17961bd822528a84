import { ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { Page } from "@playwright/test";
import { baseURL } from "../playwright.config";
import { test, expect, hydrated, latchkey, logIn, register, uniqueName, Authenticator, PASSWORD } from "./fixtures";

/**
 * Another app signs its users in with Latchkey: `rp/relying-party.mjs`, built on panva's
 * certified `openid-client`, registered with `latchkey clients add` as an operator would, and
 * driven here in Chromium through Latchkey's own pages.
 */

const END2END = path.join(__dirname, "..");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

interface App {
  url: string;
  process: ChildProcess;
}

/** Registers an app (a third-party one: its users are asked for consent) and starts it. */
async function startApp(name: string): Promise<App> {
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const issued = JSON.parse(
    latchkey([
      "clients", "add", "--name", name,
      "--redirect-uri", `${url}/callback`,
      "--post-logout-redirect-uri", `${url}/bye`,
      "--backchannel-logout-uri", `${url}/backchannel`,
    ]),
  );
  const child = spawn(process.execPath, [path.join(END2END, "rp", "relying-party.mjs")], {
    env: {
      ...process.env,
      ISSUER: baseURL,
      CLIENT_ID: issued.client_id,
      CLIENT_SECRET: issued.client_secret,
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`the app exited (${code})`)));
    child.stdout!.on("data", (data) => {
      if (String(data).includes("listening")) resolve();
    });
  });
  return { url, process: child };
}

let app: App;

test.beforeAll(async () => {
  app = await startApp("Team Wiki");
});

test.afterAll(async () => {
  app?.process.kill();
});

async function backChannelEvents(): Promise<{ sid: string; sub: string }[]> {
  const response = await fetch(`${app.url}/events`);
  return response.json();
}

/** Signs in to the app: Latchkey's sign-in page when needed, its consent page the first time. */
async function consent(page: Page, allow: string) {
  await expect(page).toHaveURL(/\/oauth\/consent\?request=/);
  await expect(page.getByTestId("consent-intro")).toContainText("Team Wiki");
  await page.getByRole("button", { name: allow, exact: true }).click();
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("an app signs a person in through Latchkey, reads userinfo, refreshes and signs out", async ({ page }) => {
      const name = uniqueName(javaScriptEnabled ? "rp" : "rp-nojs");
      await register(page, name, `${name}@example.com`);
      await expect(page).toHaveURL(/\/account$/);
      await page.getByRole("button", { name: "Sign out" }).click();
      await expect(page).toHaveURL(/\/login$/);

      // Signed out: the app sends the person to Latchkey's sign-in page, then to consent.
      await page.goto(`${app.url}/login`);
      await expect(page).toHaveURL(/\/login\?next=%2Foauth%2Fauthorize%2Fresume/);
      if (javaScriptEnabled) await hydrated(page);
      await page.getByLabel("Username or e-mail address").fill(name);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page.getByTestId("consent-scopes")).toContainText("Your e-mail address");
      await expect(page.getByTestId("consent-scopes")).toContainText("Access while you are away");
      await consent(page, "Allow");

      await expect(page).toHaveURL(new RegExp(`^${app.url}/callback`));
      await expect(page.locator("#username")).toHaveText(name);
      await expect(page.locator("#email")).toHaveText(`${name}@example.com`);
      await expect(page.locator("#amr")).toHaveText("pwd");
      const sid = (await page.locator("#sid").textContent())!;

      await page.getByRole("link", { name: "Refresh" }).click();
      await expect(page.locator("#refreshed")).toHaveText("1");
      await expect(page.locator("#username")).toHaveText(name);

      // Already signed in and consented: straight back, no page of Latchkey shown.
      await page.goto(`${app.url}/login`);
      await expect(page).toHaveURL(new RegExp(`^${app.url}/callback`));
      await expect(page.locator("#username")).toHaveText(name);

      // The account page lists the app.
      await page.goto("/account");
      await expect(page.getByTestId("apps")).toContainText("Team Wiki");

      // RP-initiated logout: Latchkey ends its session and returns to the app, which also
      // hears of it on its back channel.
      await page.goto(`${app.url}/login`);
      await expect(page).toHaveURL(new RegExp(`^${app.url}/callback`));
      const currentSid = (await page.locator("#sid").textContent())!;
      expect(currentSid).toBe(sid);
      await page.getByRole("link", { name: "Sign out" }).click();
      await expect(page).toHaveURL(`${app.url}/bye?state=bye-state`);
      await expect.poll(async () => (await backChannelEvents()).some((e) => e.sid === sid)).toBe(true);
      await page.goto("/account");
      await expect(page).toHaveURL(/\/login\?/);
    });
  });
}

test("an app asking for a second factor gets a sign-in with the authenticator app", async ({ page, request }) => {
  const name = uniqueName("rp-mfa");
  // The account and its authenticator, set up over REST.
  expect((await request.post("/v2/auth/register", {
    form: { username: name, password: PASSWORD, email_address: `${name}@example.com` },
  })).status()).toBe(200);
  const login = await request.post("/v2/auth/login", { data: { username: name, password: PASSWORD } });
  const token = (await login.json()).token;
  const headers = { authorization: `Bearer ${token}` };
  const begun = await request.post("/v2/account/mfa/totp", { headers, data: { password: PASSWORD } });
  expect(begun.status()).toBe(200);
  const authenticator = new Authenticator((await begun.json()).response.secret);
  const confirmed = await request.post("/v2/account/mfa/totp/confirm", {
    headers,
    data: { code: await authenticator.next() },
  });
  expect(confirmed.status()).toBe(200);

  await page.goto(`${app.url}/login?acr=mfa`);
  await hydrated(page);
  await page.getByLabel("Username or e-mail address").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/login\/second-factor\?next=/);
  await page.getByLabel("Code").fill(await authenticator.next());
  await page.getByRole("button", { name: "Continue" }).click();
  await consent(page, "Allow");
  await expect(page).toHaveURL(new RegExp(`^${app.url}/callback`));
  await expect(page.locator("#acr")).toHaveText("mfa");
  await expect(page.locator("#amr")).toHaveText("pwd otp mfa");

  // Asked of an account without a second factor, the app hears why it cannot be met.
  const plain = uniqueName("rp-nomfa");
  await page.context().clearCookies();
  await register(page, plain, `${plain}@example.com`);
  await page.goto(`${app.url}/login?acr=mfa`);
  await expect(page.locator("#error")).toHaveText("unmet_authentication_requirements");
});

test("the sign-in and consent pages speak Chinese when the app asks for it", async ({ page }) => {
  const name = uniqueName("rp-zh");
  await register(page, name, `${name}@example.com`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto(`${app.url}/login?lang=zh-CN`);
  await expect(page).toHaveURL(/\/login\?next=/);
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
  await hydrated(page);
  await page.locator("#identifier").fill(name);
  await page.locator("#password").fill(PASSWORD);
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await expect(page.getByRole("heading", { name: "允许访问你的账号？" })).toBeVisible();
  await expect(page.getByTestId("consent-scopes")).toContainText("你的电子邮箱地址");
  await page.getByRole("button", { name: "拒绝" }).click();
  await expect(page.locator("#error")).toHaveText("access_denied");
});
