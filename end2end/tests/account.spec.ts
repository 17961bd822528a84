import {
  test,
  expect,
  hydrated,
  register,
  logIn,
  uniqueName,
  linkFromMail,
  VERIFY_LINK,
  PASSWORD,
} from "./fixtures";

const NEW_PASSWORD = "a brand new passphrase";

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("verify the address from the mail, upgrade, change the password, sign in with the new one", async ({ page }) => {
      const name = uniqueName(javaScriptEnabled ? "journey" : "journey-nojs");
      const email = `${name}@example.com`;
      await register(page, name, email);
      await expect(page).toHaveURL(/\/account$/);
      await expect(page.getByTestId("email-status")).toHaveText("not verified");

      // The link in the mail leads a browser to a confirmation page; one click verifies.
      const link = await linkFromMail(email, VERIFY_LINK);
      await page.goto(link);
      await expect(page).toHaveURL(/\/verify-email\//);
      if (javaScriptEnabled) await hydrated(page);
      await page.getByRole("button", { name: "Verify my e-mail address" }).click();
      await expect(page).toHaveURL(/\/email-verified$/);
      await page.getByRole("link", { name: "Go to your account" }).click();
      await expect(page.getByTestId("email-status")).toHaveText("verified");

      // Upgrade, with the confirmation the page asks for.
      await page.getByRole("link", { name: "Upgrade" }).click();
      await expect(page).toHaveURL(/\/upgrade$/);
      if (javaScriptEnabled) await hydrated(page);
      await page.getByLabel("I understand that I cannot go back to the free plan.").check();
      await page.getByRole("button", { name: "Upgrade to paid" }).click();
      await expect(page).toHaveURL(/\/account\?notice=upgraded$/);
      await expect(page.getByTestId("plan")).toHaveText("Paid");
      await expect(page.getByRole("status")).toHaveText("Your account is now on the paid plan.");

      // Change the password: the session goes on.
      await page.getByRole("link", { name: "Change password" }).click();
      await expect(page).toHaveURL(/\/password$/);
      if (javaScriptEnabled) await hydrated(page);
      await page.getByLabel("Current password").fill(PASSWORD);
      await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel("New password, again").fill(NEW_PASSWORD);
      await page.getByRole("button", { name: "Change password" }).click();
      await expect(page).toHaveURL(/\/account\?notice=password-changed$/);
      await expect(page.getByTestId("username")).toHaveText(name);
      await page.reload();
      await expect(page.getByTestId("username")).toHaveText(name);

      await page.getByRole("button", { name: "Sign out" }).click();
      await expect(page).toHaveURL(/\/login$/);
      await logIn(page, name, PASSWORD);
      await expect(page.locator(".form-alert")).toHaveText("Incorrect username, e-mail address or password.");
      await logIn(page, name, NEW_PASSWORD);
      await expect(page).toHaveURL(/\/account$/);
      await expect(page.getByTestId("plan")).toHaveText("Paid");
    });
  });
}

test("a wrong current password is marked on its field", async ({ page }) => {
  const name = uniqueName("wrongold");
  await register(page, name, `${name}@example.com`);
  await expect(page).toHaveURL(/\/account$/);
  await page.goto("/password");
  await hydrated(page);
  await page.getByLabel("Current password").fill("not my password");
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("New password, again").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator("#old_password-error")).toHaveText("The current password is not correct.");
});

test("the browser catches two different new passwords before sending", async ({ page }) => {
  const name = uniqueName("mismatch");
  await register(page, name, `${name}@example.com`);
  await expect(page).toHaveURL(/\/account$/);
  await page.goto("/password");
  await hydrated(page);
  let sent = 0;
  page.on("request", (r) => {
    if (r.url().includes("/rpc/change_password")) sent++;
  });
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("New password, again").fill(NEW_PASSWORD + "!");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator("#new_password_again-error")).toHaveText("The two new passwords are not the same.");
  expect(sent).toBe(0);
});

test("an unverified account is told to verify before upgrading", async ({ page }) => {
  const name = uniqueName("unverified");
  await register(page, name, `${name}@example.com`);
  await expect(page).toHaveURL(/\/account$/);
  await page.goto("/upgrade");
  await expect(page.getByText("Verify your e-mail address before upgrading")).toBeVisible();
  await expect(page.getByRole("button", { name: "Upgrade to paid" })).toHaveCount(0);
});

test("asking for a new link too soon says when to try again", async ({ page }) => {
  const name = uniqueName("resend");
  await register(page, name, `${name}@example.com`);
  await expect(page).toHaveURL(/\/account$/);
  await hydrated(page);
  await page.getByRole("button", { name: "Send a new verification link" }).click();
  // The real wait: a minute from the registration's link, so 60 s or a second or two less.
  await expect(page.locator(".form-alert")).toHaveText(/^Too many requests\. Try again in (5[89]|60) seconds\.$/);
});

test("signed-out visitors of account pages are sent to sign in", async ({ page }) => {
  for (const path of ["/account", "/password", "/upgrade"]) {
    await page.goto(path);
    // …and come back to the page once signed in.
    await expect(page).toHaveURL(`/login?next=${encodeURIComponent(path)}`);
  }
});

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "sessions, with JavaScript" : "sessions, without JavaScript", () => {
    test.use({ javaScriptEnabled });
    test("the account page lists where you are signed in and ends every session", async ({ page, browser }) => {
      const name = uniqueName(javaScriptEnabled ? "sessions" : "sessions-nojs");
      await register(page, name, `${name}@example.com`);
      await expect(page).toHaveURL(/\/account$/);

      // A second browser signs in to the same account.
      const other = await browser.newContext({ javaScriptEnabled, baseURL: test.info().project.use.baseURL });
      const otherPage = await other.newPage();
      await logIn(otherPage, name);
      await expect(otherPage).toHaveURL(/\/account$/);

      await page.reload();
      if (javaScriptEnabled) await hydrated(page);
      const sessions = page.getByTestId("sessions").locator("li");
      await expect(sessions).toHaveCount(2);
      await expect(sessions.filter({ hasText: "this browser" })).toHaveCount(1);
      await expect(sessions.first()).toContainText("Chrome from 127.0.0.1");

      await page.getByRole("button", { name: "End every session" }).click();
      await expect(page).toHaveURL(/\/login\?notice=signed-out-everywhere$/);
      await expect(page.getByRole("status")).toHaveText(
        "You are signed out on every device. Sign in again to continue here.",
      );
      // The other browser's session ended on the server, not only in this one.
      await otherPage.goto("/account");
      await expect(otherPage).toHaveURL(/\/login\?notice=session-ended&next=%2Faccount$/);
      await expect(otherPage.getByRole("status")).toHaveText("Your session has ended. Sign in again to continue.");
      await other.close();
    });
  });
}
