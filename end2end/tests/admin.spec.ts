import { Browser, Page } from "@playwright/test";
import {
  test, expect, latchkey, logIn, mailArrives, register, turnOnAuthenticator, uniqueName, PASSWORD,
  Authenticator,
} from "./fixtures";

/**
 * The operators' console (SPEC §14) in Chromium: an admin made on the command line finds a
 * locked-out person, sees why, lifts the lock with a reason, and the person signs in; disables
 * an account whose open session then ends; removes a person's authenticator, and the person is
 * told by mail. With JavaScript and without: the console ships none, so both must work alike.
 */

/** A new admin, signed in on `page` with an authenticator: what the command line asks for. */
async function newAdmin(page: Page, javaScriptEnabled: boolean): Promise<[string, Authenticator]> {
  const name = uniqueName("op");
  await register(page, name, `${name}@example.com`);
  await expect(page).toHaveURL(/\/account/);
  const app = await turnOnAuthenticator(page, javaScriptEnabled);
  expect(latchkey(["admins", "grant", name])).toContain(`${name} is an admin`);
  expect(latchkey(["admins", "list"])).toContain(name);
  return [name, app];
}

/** Someone else, in a browser context of their own. */
async function person(browser: Browser, javaScriptEnabled: boolean) {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  const name = uniqueName("pat");
  await register(page, name, `${name}@example.com`);
  await expect(page).toHaveURL(/\/account/);
  return { context, page, name, email: `${name}@example.com` };
}

/** Opens an action's form on an account's page, gives the reason and applies it. */
async function act(page: Page, summary: string, reason: string) {
  const action = page.locator("details.action", { has: page.locator("summary", { hasText: summary }) });
  if ((await action.getAttribute("open")) === null) await action.locator("summary").click();
  await action.getByLabel("Reason (kept in the audit log)").fill(reason);
  await action.getByRole("button", { name: summary }).click();
  await expect(page.getByTestId("done")).toHaveText("Done.");
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("an admin lifts a lockout with a reason after a step-up, and the person signs in", async ({ page, browser }) => {
      const pat = await person(browser, javaScriptEnabled);
      // Five wrong passwords lock the account, the right one included.
      await pat.page.getByRole("button", { name: "Sign out" }).click();
      for (let i = 0; i < 5; i++) await logIn(pat.page, pat.name, "not the password at all");
      await logIn(pat.page, pat.name);
      await expect(pat.page.getByRole("alert").first()).toContainText("Too many");

      const [, app] = await newAdmin(page, javaScriptEnabled);
      // A person who is not an admin finds nothing at /admin.
      const notFound = await pat.page.goto("/admin");
      expect(notFound!.status()).toBe(404);

      await page.goto("/account");
      await page.getByTestId("console-link").click();
      await expect(page).toHaveURL(/\/admin$/);
      await page.getByLabel("Find an account").fill(pat.name.toUpperCase().slice(0, 10));
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByRole("link", { name: pat.name }).click();
      await expect(page.getByTestId("account-name")).toContainText(pat.name);
      await expect(page.getByTestId("locks")).toContainText(":username");

      // Signed in before the authenticator was on: changes wait for a step-up.
      await expect(page.getByTestId("changes-closed")).toBeVisible();
      await page.getByRole("link", { name: "Confirm it is you" }).click();
      await page.getByLabel("Code").fill("000000");
      await page.getByRole("button", { name: "Confirm", exact: true }).click();
      await expect(page.getByTestId("console-error")).toBeVisible();
      await page.getByLabel("Code").fill(await app.next());
      await page.getByRole("button", { name: "Confirm", exact: true }).click();
      await expect(page.getByTestId("changes-open")).toBeVisible();

      await page.goto("/admin?q=" + encodeURIComponent(pat.name));
      await page.getByRole("link", { name: pat.name }).click();
      // A reason is required: the browser says so before anything is sent.
      const unlock = page.locator("details.action", { has: page.locator("summary", { hasText: "Lift the login locks" }) });
      await unlock.locator("summary").click();
      await expect(unlock.getByLabel("Reason (kept in the audit log)")).toHaveAttribute("required", "");
      await act(page, "Lift the login locks", "identity checked on the phone");
      await expect(page.getByTestId("events")).toContainText("identity checked on the phone");

      await logIn(pat.page, pat.name);
      await expect(pat.page).toHaveURL(/\/account/);

      // On a phone the console's pages fit the screen; only their tables scroll sideways.
      const wide = page.viewportSize()!;
      await page.setViewportSize({ width: 375, height: 800 });
      for (const path of [page.url(), "/admin?q=" + encodeURIComponent(pat.name), "/admin/audit", "/admin/tokens", "/admin/clients"]) {
        await page.goto(path);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${path} overflows by ${overflow}px`).toBeLessThanOrEqual(0);
      }
      await page.setViewportSize(wide);

      // The audit log finds the action by its kind, and exports it.
      await page.getByRole("link", { name: "Audit log" }).first().click();
      await page.getByLabel("Event (a name, or a prefix such as admin.)").fill("admin.locks_lifted");
      await page.getByRole("button", { name: "Filter" }).click();
      await expect(page.getByTestId("events")).toContainText(pat.name);
      const download = page.waitForEvent("download");
      await page.getByTestId("export-csv").click();
      const csv = await (await download).createReadStream();
      const text = await new Promise<string>((resolve) => {
        let all = "";
        csv.on("data", (chunk) => (all += chunk));
        csv.on("end", () => resolve(all));
      });
      expect(text).toContain("admin.locks_lifted");
      await pat.context.close();
    });

    test("disabling ends the person's open session; removing their authenticator mails them", async ({ page, browser }) => {
      const [admin, app] = await newAdmin(page, javaScriptEnabled);
      // Signed in again with the code: a fresh second factor opens changes at once.
      await page.getByRole("button", { name: "Sign out" }).click();
      await logIn(page, admin);
      await page.getByLabel("Code").fill(await app.next());
      await page.getByRole("button", { name: "Continue" }).click();
      await expect(page).toHaveURL(/\/account/);

      const pat = await person(browser, javaScriptEnabled);
      await turnOnAuthenticator(pat.page, javaScriptEnabled);

      await page.goto("/admin?q=" + encodeURIComponent(pat.name));
      await expect(page.getByTestId("changes-open")).toBeVisible();
      await page.getByRole("link", { name: pat.name }).click();
      if (javaScriptEnabled && process.env.LATCHKEY_SCREENSHOTS) {
        // The picture in the README: an account with a second factor and a session.
        await page.setViewportSize({ width: 1200, height: 860 });
        await page.locator("details.action").first().locator("summary").click();
        await page.screenshot({ path: "../docs/screenshots/console.png" });
        await page.locator("details.action").first().locator("summary").click();
      }
      await act(page, "Remove the authenticator app", "lost phone, identity checked");
      await mailArrives(pat.email, "Your authenticator was removed");
      await expect(page.getByTestId("no-factors")).toBeVisible();

      await act(page, "Disable the account", "abuse report");
      await mailArrives(pat.email, "Your account was disabled");
      // The person's open session ended at once.
      await pat.page.goto("/account");
      await expect(pat.page).toHaveURL(/\/login/);
      await logIn(pat.page, pat.name);
      await expect(pat.page.getByRole("alert").first()).toBeVisible();
      await expect(pat.page).toHaveURL(/\/login/);

      await act(page, "Enable the account", "appeal upheld");
      await logIn(pat.page, pat.name);
      await expect(pat.page).toHaveURL(/\/account/);

      await pat.context.close();
    });
  });
}

test("an admin with passkeys only confirms the step-up with one", async ({ page, browser }) => {
  // Chromium's virtual authenticator, as in the passkeys test: it verifies its user at once.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const name = uniqueName("keyop");
  await register(page, name, `${name}@example.com`);
  await page.goto("/account/security");
  await page.getByLabel("Name for this passkey").fill("Desk key");
  await page.locator("#passkey-password").fill(PASSWORD);
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page).toHaveURL(/\/account\/security\?notice=passkey-added$/);
  // A passkey is a second factor: the command line makes this account an admin.
  expect(latchkey(["admins", "grant", name])).toContain(`${name} is an admin`);

  const pat = await person(browser, true);
  await page.goto("/admin?q=" + encodeURIComponent(pat.name));
  await page.getByRole("link", { name: pat.name }).click();
  // Signed in with the password alone at sign-up: changes wait for the check.
  await expect(page.getByTestId("changes-closed")).toBeVisible();
  await page.getByRole("link", { name: "Confirm it is you" }).click();
  await page.getByRole("button", { name: "Confirm with a passkey" }).click();
  // Back on the account's page, changes open.
  await expect(page.getByTestId("account-name")).toContainText(pat.name);
  await expect(page.getByTestId("changes-open")).toBeVisible();
  await act(page, "End every session", "device reported stolen");
  await pat.page.goto("/account");
  await expect(pat.page).toHaveURL(/\/login/);
  await pat.context.close();
});
