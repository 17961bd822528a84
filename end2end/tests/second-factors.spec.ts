import { Page } from "@playwright/test";
import { test, expect, hydrated, register, logIn, uniqueName, Authenticator, OUTBOX, PASSWORD } from "./fixtures";
import * as fs from "node:fs";
import * as path from "node:path";

/** Turns two-step sign-in on from the security page; the app and the codes shown once. */
async function enrol(page: Page, javaScriptEnabled: boolean): Promise<[Authenticator, string[]]> {
  await page.goto("/account");
  await expect(page.getByTestId("two-step")).toHaveText("Off");
  await page.getByRole("link", { name: "Manage" }).click();
  await expect(page).toHaveURL(/\/account\/security$/);
  if (javaScriptEnabled) await hydrated(page);
  await page.locator("#password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(page.getByTestId("totp-qr").locator("svg")).toBeVisible();
  const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  const app = new Authenticator(secret);

  // A wrong code first: refused by the field, nothing turned on.
  await page.getByLabel("Then enter the six-digit code the app shows:").fill("000000");
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByText("That code is not right, or was used already.")).toBeVisible();
  await page.getByLabel("Then enter the six-digit code the app shows:").fill(await app.next());
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page).toHaveURL(/\/account\/security\?notice=two-step-on$/);
  await expect(page.getByRole("status").first()).toContainText("Two-step sign-in is on.");
  const codes = await page.getByTestId("recovery-codes").locator("code").allTextContents();
  expect(codes).toHaveLength(10);
  // Shown once: a reload no longer has them.
  await page.reload();
  await expect(page.getByTestId("recovery-codes")).toHaveCount(0);
  await expect(page.getByTestId("recovery-codes-left")).toHaveText("Recovery codes left: 10");
  return [app, codes];
}

async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
}

async function secondStep(page: Page, code: string) {
  await expect(page).toHaveURL(/\/login\/second-factor$/);
  await page.getByLabel("Code").fill(code);
  await page.getByRole("button", { name: "Continue" }).click();
}

function mailsTo(to: string): string[] {
  if (!fs.existsSync(OUTBOX)) return [];
  return fs
    .readdirSync(OUTBOX)
    .filter((f) => f.endsWith(".eml"))
    .map((f) => fs.readFileSync(path.join(OUTBOX, f), "utf8"))
    .filter((raw) => raw.includes(`To: ${to}`));
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("an authenticator app and recovery codes guard the sign-in", async ({ page }) => {
      const name = uniqueName(javaScriptEnabled ? "totp" : "totp-nojs");
      const email = `${name}@example.com`;
      await register(page, name, email);
      await expect(page).toHaveURL(/\/account$/);
      const [app, codes] = await enrol(page, javaScriptEnabled);
      await expect
        .poll(() => mailsTo(email).some((m) => m.includes("Subject: Two-step sign-in is on")))
        .toBe(true);

      // The password alone no longer signs in: a code from the app follows.
      await signOut(page);
      await logIn(page, name);
      await expect(page).toHaveURL(/\/login\/second-factor$/);
      await page.goto("/account");
      await expect(page).toHaveURL(/\/login\?next=/);
      await page.goto("/login/second-factor");
      const code = await app.next();
      await secondStep(page, code);
      await expect(page).toHaveURL(/\/account$/);
      await expect(page.getByTestId("two-step")).toHaveText("On");

      // The same code again is refused.
      await signOut(page);
      await logIn(page, name);
      await secondStep(page, code);
      await expect(page.getByText("That code is not right, or was used already.")).toBeVisible();
      await expect(page).toHaveURL(/\/login\/second-factor$/);

      // A recovery code signs in once, and the owner hears of it.
      await secondStep(page, codes[0]);
      await expect(page).toHaveURL(/\/account$/);
      await expect
        .poll(() => mailsTo(email).some((m) => m.includes("Subject: A recovery code was used")))
        .toBe(true);
      await page.goto("/account/security");
      await expect(page.getByTestId("recovery-codes-left")).toHaveText("Recovery codes left: 9");

      // Turning it off takes the password and a current code.
      await page.getByText("Turn two-step sign-in off").click();
      await page.locator("#off-password").fill(PASSWORD);
      await page.locator("#off-code").fill(await app.next());
      await page.getByRole("button", { name: "Turn off" }).click();
      await expect(page).toHaveURL(/\/account\/security\?notice=two-step-off$/);
      await expect(page.getByTestId("two-step-status")).toHaveText("Off");
      await signOut(page);
      await logIn(page, name);
      await expect(page).toHaveURL(/\/account$/);
    });
  });
}

test.describe("passkeys", () => {
  test("add a passkey, sign in with it and no password, use it as the second step, remove it", async ({ page }) => {
    // Chromium's virtual authenticator: a platform authenticator that keeps discoverable
    // credentials and verifies its user (as a fingerprint would) without asking.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    const name = uniqueName("passkey");
    const email = `${name}@example.com`;
    await register(page, name, email);
    await expect(page).toHaveURL(/\/account$/);
    await page.goto("/account/security");
    await expect(page.getByTestId("no-passkeys")).toBeVisible();
    await page.getByLabel("Name for this passkey").fill("Work laptop");
    await page.locator("#passkey-password").fill(PASSWORD);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await expect(page).toHaveURL(/\/account\/security\?notice=passkey-added$/);
    await expect(page.getByTestId("passkeys")).toContainText("Work laptop");
    // The account's first second factor: its recovery codes, shown once.
    await expect(page.getByTestId("recovery-codes").locator("code")).toHaveCount(10);
    const recoveryCode = (await page.getByTestId("recovery-codes").locator("code").first().textContent())!.trim();
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0].isResidentCredential).toBe(true);
    await expect
      .poll(() => mailsTo(email).some((m) => m.includes("Subject: A passkey was added")))
      .toBe(true);

    // Signing in with it: no username, no password.
    await signOut(page);
    await hydrated(page);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("username")).toHaveText(name);

    // With a passkey on the account, the password is followed by a second step: the passkey.
    await signOut(page);
    await logIn(page, name);
    await expect(page).toHaveURL(/\/login\/second-factor$/);
    await page.getByRole("button", { name: "Use a passkey" }).click();
    await expect(page).toHaveURL(/\/account$/);

    // Removing it takes the password and a second factor (here a recovery code: the passkey is
    // the only other one); with no second factor left, the password alone signs in.
    await page.goto("/account/security");
    await page.getByText("Remove", { exact: true }).first().click();
    await page.getByTestId("passkeys").getByLabel("Current password").fill(PASSWORD);
    await page.getByTestId("passkeys").getByLabel("Code").fill(recoveryCode);
    await page.getByTestId("passkeys").getByRole("button", { name: "Remove" }).click();
    await expect(page).toHaveURL(/\/account\/security\?notice=passkey-removed$/);
    await expect(page.getByTestId("no-passkeys")).toBeVisible();
    await signOut(page);
    await logIn(page, name);
    await expect(page).toHaveURL(/\/account$/);
  });
});
