import type { Page } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";
import { test, expect, hydrated, register, uniqueName, PASSWORD } from "./fixtures";

// What a person using Latchkey for the first time expects of its pages: the right fields,
// nothing typed lost, nothing personal in the address bar, a header that knows who is signed
// in, and pages that say what went wrong and what to do next.

/** Every address the page's main frame visits from now on. */
function addressesVisited(page: Page): string[] {
  const seen: string[] = [];
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) seen.push(frame.url());
  });
  return seen;
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled, locale: "en-GB" });

    test("the reset asks for an address by e-mail and a number by text message", async ({ page }) => {
      await page.goto("/forgot/password");
      // E-mail is the choice at first: only its field shows.
      await expect(page.getByLabel("E-mail", { exact: true })).toBeChecked();
      await expect(page.getByLabel("E-mail address")).toBeVisible();
      await expect(page.getByLabel("Phone number")).toBeHidden();
      await expect(page.getByLabel("Country code")).toBeHidden();

      await page.getByLabel("Text message").check();
      await expect(page.getByLabel("E-mail address")).toBeHidden();
      await expect(page.getByLabel("Phone number")).toBeVisible();
      // The country code comes from the browser's language (en-GB here), not a fixed one.
      await expect(page.getByLabel("Country code")).toHaveValue("+44");
      await expect(page.getByRole("button", { name: "Text me a passcode" })).toBeVisible();
      await expect(page.getByRole("button", { name: "Mail me a passcode" })).toBeHidden();
    });

    test("a refused form keeps what was typed, except the password, at a clean address", async ({ page }) => {
      const taken = uniqueName(javaScriptEnabled ? "keeper" : "keeper-nojs");
      await register(page, taken, `${taken}@example.com`);
      await expect(page).toHaveURL(/\/account$/);
      await page.getByRole("button", { name: "Sign out" }).click();
      await expect(page).toHaveURL(/\/login$/);

      const visited = addressesVisited(page);
      await page.goto("/register");
      if (javaScriptEnabled) await hydrated(page);
      await page.getByLabel("Username").fill(taken);
      await page.getByLabel("E-mail address").fill(`new-${taken}@example.com`);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create account" }).click();
      await expect(page.locator("#username-error")).toContainText("taken");
      await expect(page).toHaveURL(/\/register$/);
      await expect(page.getByLabel("Username")).toHaveValue(taken);
      await expect(page.getByLabel("E-mail address")).toHaveValue(`new-${taken}@example.com`);
      if (!javaScriptEnabled) await expect(page.getByLabel("Password")).toHaveValue("");

      // A refused sign-in: the identifier stays, the error shows, the address is clean.
      await page.goto("/login");
      if (javaScriptEnabled) await hydrated(page);
      await page.getByLabel("Username or e-mail address").fill(taken);
      await page.getByLabel("Password").fill("not the password");
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page.locator(".form-alert")).toHaveText("Incorrect username, e-mail address or password.");
      await expect(page).toHaveURL(/\/login$/);
      await expect(page.getByLabel("Username or e-mail address")).toHaveValue(taken);
      for (const address of visited) expect(address, address).not.toMatch(/__err|__path/);
    });

    test("the reset never puts the address in the address bar", async ({ page }) => {
      const name = uniqueName(javaScriptEnabled ? "private" : "private-nojs");
      const email = `${name}@example.com`;
      const visited = addressesVisited(page);
      await page.goto("/forgot/password");
      await page.getByLabel("E-mail address").fill(email);
      await page.getByRole("button", { name: "Mail me a passcode" }).click();
      await expect(page).toHaveURL(/\/forgot\/password\?step=code$/);
      await expect(page.getByText(email)).toBeVisible();
      // A wrong passcode comes back to the same step, which still knows where the code went.
      await page.getByLabel("Passcode").fill("000000");
      await page.getByRole("button", { name: "Continue" }).click();
      await expect(page.locator("#code-error")).toHaveText("That passcode is wrong or has expired.");
      await expect(page.getByText(email)).toBeVisible();
      for (const address of visited) {
        expect(address, address).not.toContain(name);
        expect(address, address).not.toMatch(/__err|%40/);
      }
    });

    test("asking again too soon says when to try again", async ({ page }) => {
      const email = `${uniqueName(javaScriptEnabled ? "eager" : "eager-nojs")}@example.com`;
      for (const attempt of [1, 2]) {
        await page.goto("/forgot/password");
        await page.getByLabel("E-mail address").fill(email);
        await page.getByRole("button", { name: "Mail me a passcode" }).click();
        if (attempt === 1) await expect(page).toHaveURL(/step=code$/);
      }
      await expect(page).toHaveURL(/\/forgot\/password$/);
      await expect(page.locator(".form-alert")).toHaveText(/^Too many requests\. Try again in \d+ seconds\.$/);
      // What was typed is still there, ready for the retry.
      await expect(page.getByLabel("E-mail address")).toHaveValue(email);
    });

    test("an ended session says so, and signing in returns to the page", async ({ page, context }) => {
      const name = uniqueName(javaScriptEnabled ? "ended" : "ended-nojs");
      await register(page, name, `${name}@example.com`);
      await expect(page).toHaveURL(/\/account$/);
      // The session ends while the browser still holds its cookie (as when "End every
      // session" is pressed on another device): put this browser's old cookie back.
      const [session] = (await context.cookies()).filter((c) => c.name === "latchkey_session");
      await page.getByRole("button", { name: "End every session" }).click();
      await expect(page).toHaveURL(/\/login\?notice=signed-out-everywhere$/);
      await context.addCookies([session]);

      await page.goto("/password");
      await expect(page).toHaveURL(/\/login\?notice=session-ended&next=%2Fpassword$/);
      await expect(page.getByRole("status")).toHaveText("Your session has ended. Sign in again to continue.");
      if (javaScriptEnabled) await hydrated(page);
      await page.getByLabel("Username or e-mail address").fill(name);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page).toHaveURL(/\/password$/);
      await expect(page.getByRole("heading", { name: "Change password" })).toBeVisible();
    });
  });
}

test("the header offers the ways in, and once signed in names the account", async ({ page }) => {
  await page.goto("/");
  const header = page.locator("header.site");
  await expect(header.getByRole("link", { name: "Sign in", exact: true })).toBeVisible();
  await expect(header.getByRole("link", { name: "Create an account" })).toBeVisible();
  await expect(header.getByRole("button", { name: "Sign out" })).toHaveCount(0);

  const name = uniqueName("header");
  await register(page, name, `${name}@example.com`);
  await expect(page).toHaveURL(/\/account$/);
  for (const where of ["/account", "/", "/forgot/username"]) {
    await page.goto(where);
    await expect(header.getByTestId("signed-in-as")).toHaveText(name);
    await expect(header.getByRole("link", { name: "Account" })).toBeVisible();
    await expect(header.getByRole("link", { name: "Sign in", exact: true })).toHaveCount(0);
  }
  await header.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(header.getByRole("link", { name: "Sign in", exact: true })).toBeVisible();
});

test("an unknown page says so and offers the way on", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await page.getByRole("link", { name: "Go to the start page" }).click();
  await expect(page).toHaveURL(/\/$/);
});

test.describe("on a 375 px wide phone", () => {
  test.use({ viewport: { width: 375, height: 740 } });

  /** The pages whose pictures the README shows (LATCHKEY_SCREENSHOTS=<dir> refreshes them). */
  const README_PICTURES = ["/login", "/forgot/password"];

  /**
   * Fails if anything on the page is wider than the screen (a sideways scroll), and attaches
   * the page's screenshot to the test's report, to look at.
   */
  async function fitsTheScreen(page: Page, where: string) {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const picture = await page.screenshot({ fullPage: true });
    await test.info().attach(where, { body: picture, contentType: "image/png" });
    expect(overflow, `${where} overflows by ${overflow}px`).toBeLessThanOrEqual(0);
    const dir = process.env.LATCHKEY_SCREENSHOTS;
    if (dir && README_PICTURES.includes(where)) {
      const file = where.replace(/^\//, "").replace(/[^a-z0-9]+/gi, "-");
      fs.writeFileSync(path.join(dir, `${file}.png`), picture);
    }
  }

  test("every page fits, and a long address wraps between its parts", async ({ page }) => {
    for (const where of [
      "/",
      "/login",
      "/register",
      "/forgot/username",
      "/forgot/password",
      "/reset-password?token=made-up",
      "/verify-email/someone/sometoken",
      "/email-verified",
      "/no/such/page",
    ]) {
      await page.goto(where);
      await fitsTheScreen(page, where);
    }
    await page.goto("/forgot/password");
    await page.getByLabel("E-mail address").fill(`${uniqueName("narrow-reset")}@example.com`);
    await page.getByRole("button", { name: "Mail me a passcode" }).click();
    await expect(page).toHaveURL(/step=code$/);
    await fitsTheScreen(page, "/forgot/password?step=code");

    const name = uniqueName("narrow");
    const email = `${name}.with.a.rather.long.local.part@subdomain.of.a.long.example.com`;
    await register(page, name, email);
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("email")).toHaveText(email);
    await fitsTheScreen(page, "/account");
    // The address wraps only where it may (after the @, before a dot): each line of it ends at
    // one of those points, never inside a word.
    const lines = await page.getByTestId("email").evaluate((span) => {
      const range = document.createRange();
      const text = span.textContent ?? "";
      const ends: string[] = [];
      let lastTop: number | null = null;
      let offset = 0;
      for (const node of Array.from(span.childNodes)) {
        if (node.nodeType !== Node.TEXT_NODE) continue;
        for (let i = 0; i < (node.textContent ?? "").length; i++, offset++) {
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const top = range.getBoundingClientRect().top;
          if (lastTop !== null && top > lastTop + 1) ends.push(text.slice(0, offset));
          lastTop = top;
        }
      }
      return ends;
    });
    expect(lines.length, "the address is long enough to wrap").toBeGreaterThan(0);
    for (const before of lines) {
      const next = email.slice(before.length);
      const midWord = /[a-z0-9]$/i.test(before) && /^[a-z0-9]/i.test(next);
      expect(midWord, `a line ends mid-word: ${before} | ${next}`).toBe(false);
    }
    await page.goto("/password");
    await fitsTheScreen(page, "/password");
    await page.goto("/upgrade");
    await fitsTheScreen(page, "/upgrade");
    // The security page, also with an enrolment's QR code and key showing.
    await page.goto("/account/security");
    await fitsTheScreen(page, "/account/security");
    await page.locator("#password").fill(PASSWORD);
    await page.getByRole("button", { name: "Set up an authenticator app" }).click();
    await expect(page.getByTestId("totp-secret")).toBeVisible();
    await fitsTheScreen(page, "/account/security (enrolment)");
    await page.goto("/login/second-factor");
    await fitsTheScreen(page, "/login/second-factor");
    for (const path of ["/account/email", "/account/delete", "/account/keep"]) {
      await page.goto(path);
      await fitsTheScreen(page, path);
    }
  });
});
