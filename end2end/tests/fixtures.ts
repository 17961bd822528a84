import { test as base, expect, Page } from "@playwright/test";
import * as OTPAuth from "otpauth";
import { execFileSync } from "node:child_process";

export const PASSWORD = "correct horse battery staple";

/** A username no other test (or earlier run) has used. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/**
 * Every page must load without script errors: a test fails on any uncaught exception or
 * console error (a broken hydration shows up here first).
 */
export const test = base.extend<{ page: Page }>({
  page: async ({ page }, use) => {
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() !== "error") return;
      // A refused form answers 4xx, which the browser logs; that is the test's subject, not
      // a fault. Any other failed load (a missing file) still fails the test.
      // Likewise a page that answers with an error status (404 for an unknown address) is
      // what the test went to see.
      const failedLoad = m.text().startsWith("Failed to load resource");
      const refusedForm = failedLoad && m.location().url.includes("/rpc/");
      const pageItself = failedLoad && m.location().url === page.url();
      if (!refusedForm && !pageItself) problems.push(`console: ${m.text()} (${m.location().url})`);
    });
    await use(page);
    expect(problems, problems.join("\n")).toEqual([]);
  },
});

export { expect };

/**
 * Waits until every island on the page has hydrated. A page without islands ships no WASM:
 * its forms are plain HTML, and there is nothing to wait for.
 */
export async function hydrated(page: Page) {
  await page.waitForLoadState("domcontentloaded");
  if ((await page.locator("leptos-island").count()) === 0) return;
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached", timeout: 30_000 });
}

export async function register(page: Page, username: string, email: string, password = PASSWORD) {
  await page.goto("/register");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
}

/** The last step of a reset: sets `password` and lands on the sign-in page saying so. */
export async function setNewPassword(page: Page, password: string) {
  await page.getByLabel("New password", { exact: true }).fill(password);
  await page.getByLabel("New password, again").fill(password);
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page).toHaveURL(/\/login\?notice=password-reset$/);
}

export async function logIn(page: Page, identifier: string, password = PASSWORD) {
  await page.goto("/login");
  await page.getByLabel("Username or e-mail address").fill(identifier);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

import * as fs from "node:fs";
import * as path from "node:path";

/** The server's mail outbox (LATCHKEY_DATA_DIR is end2end/.data). */
export const OUTBOX = path.join(__dirname, "..", ".data", "outbox");
/** The outbox both nodes behind the proxy write to (proxy-cluster.sh). */
export const PROXY_OUTBOX = path.join(__dirname, "..", ".data-proxy", "outbox");

/**
 * A mail's raw text with its parts readable: quoted-printable soft line breaks and escapes
 * undone (enough to read links), and each base64 part (a text with non-ASCII words, such as a
 * Chinese mail) decoded and appended.
 */
function unfold(raw: string): string {
  const quoted = raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
  const decoded = [...raw.matchAll(/Content-Transfer-Encoding: base64\r?\n\r?\n([A-Za-z0-9+/=\r\n]+)/g)]
    .map((m) => Buffer.from(m[1].replace(/\s/g, ""), "base64").toString("utf8"));
  return [quoted, ...decoded].join("\n");
}

/**
 * Waits for a delivered mail to `to` that contains a link matching `pattern`, and returns the
 * link. Reads the real `.eml` files the server wrote.
 */
export async function linkFromMail(to: string, pattern: RegExp, outbox = OUTBOX): Promise<string> {
  let found: string | undefined;
  await expect(async () => {
    const names = fs.existsSync(outbox) ? fs.readdirSync(outbox).filter((n) => n.endsWith(".eml")) : [];
    for (const name of names.sort().reverse()) {
      const text = unfold(fs.readFileSync(path.join(outbox, name), "utf8"));
      if (!new RegExp(`^To: .*${to.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`, "mi").test(text)) continue;
      const match = text.match(pattern);
      if (match) {
        found = match[0];
        return;
      }
    }
    throw new Error(`no mail to ${to} with ${pattern} yet`);
  }).toPass({ timeout: 15_000 });
  return found!;
}

export const VERIFY_LINK = /http:\/\/[^\s"<>]+\/v2\/account\/email\/verify\/[^\s"<>]+/;

/** Waits for the newest mail to `to` with a line holding only a six-digit passcode. */
export async function passcodeFromMail(to: string, after = 0, outbox = OUTBOX): Promise<string> {
  let code: string | undefined;
  await expect(async () => {
    const names = fs.existsSync(outbox) ? fs.readdirSync(outbox).filter((n) => n.endsWith(".eml")) : [];
    const matching = names
      .sort()
      .map((n) => unfold(fs.readFileSync(path.join(outbox, n), "utf8")))
      .filter((text) => text.toLowerCase().includes(`to: ${to.toLowerCase()}`) || text.toLowerCase().includes(`<${to.toLowerCase()}>`))
      .map((text) => text.match(/^\s{4}(\d{6})\s*$/m)?.[1])
      .filter((c): c is string => !!c);
    if (matching.length <= after) throw new Error(`no passcode mail #${after + 1} to ${to} yet`);
    code = matching[matching.length - 1];
  }).toPass({ timeout: 15_000 });
  return code!;
}

/** Waits for text message number `count` to `to` (E.164) and returns its passcode. */
export async function passcodeFromSms(to: string, count = 1): Promise<string> {
  let code: string | undefined;
  await expect(async () => {
    const names = fs.existsSync(OUTBOX) ? fs.readdirSync(OUTBOX).filter((n) => n.endsWith("-sms.txt")) : [];
    const texts = names
      .sort()
      .map((n) => fs.readFileSync(path.join(OUTBOX, n), "utf8"))
      .filter((t) => t.startsWith(`To: ${to}\n`));
    if (texts.length < count) throw new Error(`no text #${count} to ${to} yet`);
    code = texts[count - 1].match(/\b(\d{6})\b/)?.[1];
    if (!code) throw new Error("no code in the text");
  }).toPass({ timeout: 15_000 });
  return code!;
}

/** A valid mainland China mobile number no other test uses. */
export function uniquePhone(): string {
  return `139${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
}

export const RESET_LINK = /http:\/\/[^\s"<>]+\/reset-password\?token=[A-Za-z0-9_-]+/;

/**
 * An authenticator app, from the key the security page shows as text (nothing is scanned):
 * each code it gives is of a step the server has not taken yet, the earliest it still accepts.
 */
export class Authenticator {
  private totp: OTPAuth.TOTP;
  private lastStep = 0;

  constructor(secret: string) {
    this.totp = new OTPAuth.TOTP({
      issuer: "Latchkey",
      algorithm: "SHA1",
      digits: 6,
      period: 30,
      secret: OTPAuth.Secret.fromBase32(secret),
    });
  }

  async next(): Promise<string> {
    for (;;) {
      const now = Math.floor(Date.now() / 1000);
      const current = Math.floor(now / 30);
      // A step-old code is good only until the step ends: not in its last seconds.
      const earliest = now % 30 >= 25 ? current : current - 1;
      const step = Math.max(this.lastStep + 1, earliest);
      if (step <= current + 1) {
        this.lastStep = step;
        return this.totp.generate({ timestamp: step * 30 * 1000 });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}


/** The `latchkey` command line on the test server's data directory, as an operator runs it. */
export function latchkey(args: string[]): string {
  return execFileSync(path.join(__dirname, "..", "..", "target", "release", "latchkey"), args, {
    cwd: path.join(__dirname, ".."),
    env: { ...process.env, LATCHKEY_DATA_DIR: ".data" },
    encoding: "utf8",
  });
}

/** Waits for a delivered mail to `to` whose subject contains `subject`; its readable text. */
export async function mailArrives(to: string, subject: string, outbox = OUTBOX): Promise<string> {
  let found: string | undefined;
  await expect(async () => {
    const names = fs.existsSync(outbox) ? fs.readdirSync(outbox).filter((n) => n.endsWith(".eml")) : [];
    found = names
      .map((name) => unfold(fs.readFileSync(path.join(outbox, name), "utf8")))
      .find((text) => text.includes(`To: ${to}`) && text.includes(subject));
    expect(found, `a mail to ${to} about "${subject}"`).toBeTruthy();
  }).toPass({ timeout: 15_000 });
  return found!;
}

/**
 * Turns on an authenticator app from the security page for the signed-in account; the app.
 * (second-factors.spec.ts walks the same way with every check on the way.)
 */
export async function turnOnAuthenticator(page: Page, javaScriptEnabled: boolean): Promise<Authenticator> {
  await page.goto("/account/security");
  if (javaScriptEnabled) await hydrated(page);
  await page.locator("#password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
  const app = new Authenticator(secret);
  await page.getByLabel("Then enter the six-digit code the app shows:").fill(await app.next());
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page).toHaveURL(/\/account\/security\?notice=two-step-on$/);
  return app;
}
