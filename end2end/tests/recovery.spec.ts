import JSEncrypt from "jsencrypt";
import type { Page } from "@playwright/test";
import { sm2 } from "sm-crypto";
import {
  test,
  expect,
  hydrated,
  register,
  logIn,
  uniqueName,
  uniquePhone,
  linkFromMail,
  passcodeFromMail,
  passcodeFromSms,
  VERIFY_LINK,
  RESET_LINK,
  PASSWORD,
  setNewPassword,
} from "./fixtures";

const NEW_PASSWORD = "a brand new passphrase";

/** Registers `name`, signs out, and asks for a reset by e-mail on the web form. */
async function signedOutAskingForReset(page: Page, name: string) {
  const email = `${name}@example.com`;
  await register(page, name, email);
  await expect(page).toHaveURL(/\/account$/);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto("/forgot/password");
  await page.getByLabel("E-mail address").fill(email);
  await page.getByRole("button", { name: "Mail me a passcode" }).click();
  await expect(page).toHaveURL(/\/forgot\/password\?step=code$/);
  return { name, email };
}

test.describe("REST clients encrypting as Authing's SDKs do", () => {
  /** Register over REST and take a reset token by e-mail passcode. */
  async function resetToken(request: any, name: string): Promise<string> {
    const email = `${name}@example.com`;
    const registered = await request.post("/v2/auth/register", {
      form: { username: name, password: PASSWORD, email_address: email },
    });
    expect(registered.status()).toBe(200);
    const sent = await request.post("/api/v3/send-email", {
      data: { channel: "CHANNEL_RESET_PASSWORD", email },
    });
    expect((await sent.json()).apiCode).toBe(0);
    const passCode = await passcodeFromMail(email);
    const verified = await request.post("/api/v3/verify-reset-password-request", {
      data: { verifyMethod: "EMAIL_PASSCODE", emailPassCodePayload: { email, passCode } },
    });
    const body = await verified.json();
    expect(body.data.tokenExpiresIn).toBe(900);
    return body.data.passwordResetToken;
  }

  async function keys(request: any) {
    const system = await (await request.get("/api/v3/system")).json();
    return { rsa: system.data.rsa.publicKey as string, sm2: system.data.sm2.publicKey as string };
  }

  test("RSA with jsencrypt", async ({ request }) => {
    const name = uniqueName("jsencrypt");
    const token = await resetToken(request, name);
    const encryptor = new JSEncrypt();
    encryptor.setPublicKey((await keys(request)).rsa);
    const password = encryptor.encrypt(NEW_PASSWORD);
    expect(password).toBeTruthy();
    const reset = await request.post("/api/v3/reset-password", {
      data: { password, passwordResetToken: token, passwordEncryptType: "rsa" },
    });
    expect(await reset.json()).toMatchObject({ statusCode: 200, apiCode: 0, data: { success: true } });
    const login = await request.post("/v2/auth/login", {
      headers: { "content-type": "text/plain" },
      data: JSON.stringify({ username: name, password: NEW_PASSWORD }),
    });
    expect(login.status()).toBe(200);
  });

  test("SM2 with sm-crypto, cipher mode 1 (C1C3C2)", async ({ request }) => {
    const name = uniqueName("smcrypto");
    const token = await resetToken(request, name);
    const password = sm2.doEncrypt("国密 passphrase", (await keys(request)).sm2, 1);
    const reset = await request.post("/api/v3/reset-password", {
      data: { password, passwordResetToken: token, passwordEncryptType: "sm2" },
    });
    expect(await reset.json()).toMatchObject({ statusCode: 200, apiCode: 0, data: { success: true } });
    const login = await request.post("/v2/auth/login", {
      headers: { "content-type": "text/plain" },
      data: JSON.stringify({ username: name, password: "国密 passphrase" }),
    });
    expect(login.status()).toBe(200);
  });
});

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("forgot password by e-mail passcode, then sign in", async ({ page }) => {
      const name = uniqueName(javaScriptEnabled ? "forgot" : "forgot-nojs");
      const email = `${name}@example.com`;
      await register(page, name, email);
      await expect(page).toHaveURL(/\/account$/);
      await page.getByRole("button", { name: "Sign out" }).click();
      await expect(page).toHaveURL(/\/login$/);

      await page.getByRole("link", { name: "Forgot your password?" }).click();
      await expect(page).toHaveURL(/\/forgot\/password$/);
      if (javaScriptEnabled) await hydrated(page);
      await page.getByLabel("E-mail address").fill(email);
      await page.getByRole("button", { name: "Mail me a passcode" }).click();
      await expect(page).toHaveURL(/\/forgot\/password\?step=code$/);
      await expect(page.getByText(email)).toBeVisible();
      // The wizard keeps its step across a reload.
      await page.reload();
      await expect(page.getByLabel("Passcode")).toBeVisible();

      await page.getByLabel("Passcode").fill(await passcodeFromMail(email));
      await page.getByRole("button", { name: "Continue" }).click();
      await expect(page).toHaveURL(/\/forgot\/password\?token=/);
      await page.reload();
      if (javaScriptEnabled) await hydrated(page);
      const sent: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes("/rpc/finish_reset")) sent.push(r.postData() ?? "");
      });
      await setNewPassword(page, NEW_PASSWORD);
      await expect(page.getByRole("status")).toHaveText("Your password is reset. Sign in with the new one.");
      expect(sent).toHaveLength(1);
      if (javaScriptEnabled) {
        // The hydrated page sealed the password with the server's RSA key.
        expect(sent[0]).toContain("encryption=rsa");
        expect(sent[0]).not.toContain("brand");
      }

      await logIn(page, name, PASSWORD);
      await expect(page.locator(".form-alert")).toHaveText("Incorrect username, e-mail address or password.");
      await logIn(page, email, NEW_PASSWORD);
      await expect(page).toHaveURL(/\/account$/);
    });

    test("an error on a page opened from a mailed link comes back to that page", async ({ page, context }) => {
      // A reset link opened twice: used in one tab, then Continue in the other.
      const { email } = await signedOutAskingForReset(page, uniqueName(javaScriptEnabled ? "twotabs" : "twotabs-nojs"));
      const link = new URL(await linkFromMail(email, RESET_LINK));
      const address = link.pathname + link.search;

      // These pages send no Referer (their address holds a token); the form names its page.
      const response = await page.goto(address);
      expect(response?.headers()["referrer-policy"]).toBe("no-referrer");
      if (javaScriptEnabled) await hydrated(page);
      // Meanwhile the same link is used in another tab.
      const other = await context.newPage();
      await other.goto(address);
      await other.getByRole("button", { name: "Continue" }).click();
      await expect(other).toHaveURL(/\/forgot\/password\?token=/);
      await other.close();
      await page.getByRole("button", { name: "Continue" }).click();
      // Back on the same page, which now knows the link is spent.
      await expect(page.getByTestId("dead-link")).toContainText("This link has expired or was already used");
      await expect(page).toHaveURL(new RegExp(address.replace(/[?]/g, "\\?")));

      for (const [address, button, error] of [
        ["/verify-email/nobody/not-a-real-token", "Verify my e-mail address", "This link is invalid"],
      ]) {
        const response = await page.goto(address);
        expect(response?.headers()["referrer-policy"]).toBe("no-referrer");
        if (javaScriptEnabled) await hydrated(page);
        await page.getByRole("button", { name: button }).click();
        await expect(page.locator(".form-alert")).toContainText(error);
        await expect(page).toHaveURL(new RegExp(address.replace(/[?]/g, "\\?")));
      }
    });

    test("forgot password by the link in the mail, then sign in", async ({ page }) => {
      const { name, email } = await signedOutAskingForReset(page, uniqueName(javaScriptEnabled ? "link" : "link-nojs"));

      await page.goto(await linkFromMail(email, RESET_LINK));
      if (javaScriptEnabled) await hydrated(page);
      await page.getByRole("button", { name: "Continue" }).click();
      await expect(page).toHaveURL(/\/forgot\/password\?token=/);
      await setNewPassword(page, NEW_PASSWORD);
      await logIn(page, name, NEW_PASSWORD);
      await expect(page).toHaveURL(/\/account$/);
    });
  });
}

test("a wrong passcode is marked on its field", async ({ page }) => {
  await page.goto("/forgot/password");
  // An address nobody has: the step answers the same as for a real one.
  await page.getByLabel("E-mail address").fill(`${uniqueName("nobody")}@example.com`);
  await page.getByRole("button", { name: "Mail me a passcode" }).click();
  await expect(page).toHaveURL(/\/forgot\/password\?step=code$/);
  await page.getByLabel("Passcode").fill("000000");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.locator("#code-error")).toHaveText("That passcode is wrong or has expired.");
});

test("forgot password by text message to a confirmed phone, then sign in", async ({ page }) => {
  const name = uniqueName("phone");
  const email = `${name}@example.com`;
  const national = uniquePhone();
  const e164 = `+86${national}`;
  await register(page, name, email);
  await expect(page).toHaveURL(/\/account$/);
  // A phone needs a verified address (else whoever registered an address first could attach
  // a phone to it): the page says so instead of offering the form.
  await expect(page.getByTestId("phone-needs-verified-email")).toBeVisible();
  await expect(page.getByText("Add a phone number", { exact: true })).toHaveCount(0);
  await page.goto(await linkFromMail(email, VERIFY_LINK));
  await page.getByRole("button", { name: "Verify my e-mail address" }).click();
  await expect(page).toHaveURL(/\/email-verified$/);
  await page.goto("/account");
  await hydrated(page);

  // Add and confirm the phone on the account page.
  await page.getByText("Add a phone number").click();
  await page.getByLabel("Country code").fill("+86");
  await page.getByLabel("Phone number").fill(national);
  await page.getByRole("button", { name: "Text me a passcode" }).click();
  await expect(page).toHaveURL(/notice=phone-code-sent/);
  await expect(page.getByTestId("phone-status")).toHaveText("not verified");
  await page.getByLabel("Passcode from the text message").fill(await passcodeFromSms(e164, 1));
  await page.getByRole("button", { name: "Confirm phone number" }).click();
  await expect(page).toHaveURL(/notice=phone-verified/);
  await expect(page.getByTestId("phone-status")).toHaveText("verified");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await page.goto("/forgot/password");
  await hydrated(page);
  await page.getByLabel("Text message").check();
  await expect(page.getByLabel("E-mail address")).toBeHidden();
  await page.getByLabel("Country code").fill("+86");
  await page.getByLabel("Phone number").fill(national);
  await page.getByRole("button", { name: "Text me a passcode" }).click();
  await expect(page).toHaveURL(/\/forgot\/password\?step=code$/);
  await expect(page.getByText(`+86 ${national}`)).toBeVisible();
  await page.getByLabel("Passcode").fill(await passcodeFromSms(e164, 2));
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/forgot\/password\?token=/);
  await setNewPassword(page, NEW_PASSWORD);
  await logIn(page, name, NEW_PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
});

test("forgot username mails it to a verified address", async ({ page }) => {
  const name = uniqueName("whoami");
  const email = `${name}@example.com`;
  await register(page, name, email);
  await expect(page).toHaveURL(/\/account$/);
  await page.goto(await linkFromMail(email, VERIFY_LINK));
  await page.getByRole("button", { name: "Verify my e-mail address" }).click();
  await expect(page).toHaveURL(/\/email-verified$/);
  await page.goto("/account");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await page.getByRole("link", { name: "Forgot your username?" }).click();
  await hydrated(page);
  await page.getByLabel("E-mail address").fill(email.toUpperCase());
  await page.getByRole("button", { name: "Mail me my username" }).click();
  await expect(page.getByRole("status")).toContainText("the username is on its way");
  const remembered = await linkFromMail(email, new RegExp(`^\\s{4}(${name})\\s*$`, "m"));
  expect(remembered.trim()).toBe(name);
  await logIn(page, remembered.trim());
  await expect(page).toHaveURL(/\/account$/);
});

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "dead links, with JavaScript" : "dead links, without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("a used or made-up reset link says so at once and offers a new passcode", async ({ page }) => {
      const { email } = await signedOutAskingForReset(page, uniqueName(javaScriptEnabled ? "deadlink" : "deadlink-nojs"));

      // A live link offers to continue; once used, the same link is dead on arrival.
      const link = await linkFromMail(email, RESET_LINK);
      await page.goto(link);
      await expect(page.getByTestId("dead-link")).toHaveCount(0);
      await page.getByRole("button", { name: "Continue" }).click();
      await expect(page).toHaveURL(/\/forgot\/password\?token=/);

      for (const dead of [link, "/reset-password?token=made-up", "/reset-password"]) {
        await page.goto(dead);
        await expect(page.getByTestId("dead-link")).toHaveText(
          "This link has expired or was already used: each reset link works once, for a limited time.",
        );
        await expect(page.getByRole("button", { name: "Continue" })).toHaveCount(0);
      }
      await page.getByRole("link", { name: "Request a new passcode" }).click();
      await expect(page).toHaveURL(/\/forgot\/password$/);
      await expect(page.getByLabel("E-mail address")).toBeVisible();
    });
  });
}
