import * as fs from "node:fs";
import {
  test, expect, latchkey, linkFromMail, logIn, mailArrives, passcodeFromMail, register, uniqueName,
  PASSWORD,
} from "./fixtures";

/**
 * The account's life (SPEC §15) in Chromium, with JavaScript and without: a person moves to a
 * new address (the code read from the real outbox) and signs in with it, and the old mailbox's
 * "this wasn't me" link takes it back and signs everybody out; a person deletes their account,
 * keeps it by signing in, deletes it again, and once the grace is over the name and address
 * are free for anyone; the export downloads what is held.
 */

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("a new address by its code, then the old mailbox takes it back", async ({ page }) => {
      const name = uniqueName("mov");
      const old = `${name}@example.com`;
      const fresh = `${name}-new@example.com`;
      await register(page, name, old);
      await expect(page).toHaveURL(/\/account/);
      await page.getByTestId("change-email").click();
      await expect(page).toHaveURL(/\/account\/email$/);
      await page.getByLabel("New e-mail address").fill(fresh);
      await page.getByLabel("Current password").fill(PASSWORD);
      await page.getByRole("button", { name: "Send a code to the new address" }).click();
      await expect(page.getByRole("status")).toContainText("on their way");
      await expect(page.getByTestId("pending-change")).toContainText(fresh);

      await page.getByLabel("Code from the new address").fill(await passcodeFromMail(fresh));
      await page.getByRole("button", { name: "Change the address" }).click();
      await expect(page).toHaveURL(/\/account\?notice=email-changed$/);
      await expect(page.getByTestId("email")).toHaveText(fresh);

      await page.getByRole("button", { name: "Sign out" }).click();
      await logIn(page, fresh);
      await expect(page).toHaveURL(/\/account/);

      // "This wasn't me" from the old mailbox: a click, then everybody is out.
      const restore = await linkFromMail(old, /http:\/\/[^\s"<>]+\/account\/email\/restore\?token=[A-Za-z0-9_-]+/);
      await page.goto(restore);
      await page.getByRole("button", { name: "Restore my address and sign everybody out" }).click();
      await expect(page).toHaveURL(/\/login\?notice=email-restored$/);
      await page.goto("/account");
      await expect(page).toHaveURL(/\/login/);
      await mailArrives(old, "passcode");
      await logIn(page, old);
      await expect(page).toHaveURL(/\/account/);
      await expect(page.getByTestId("email")).toHaveText(old);
    });

    test("delete, keep by signing in, delete again; after the grace the name is free", async ({ page }) => {
      const name = uniqueName("del");
      const email = `${name}@example.com`;
      await register(page, name, email);
      await expect(page).toHaveURL(/\/account/);

      // The export first: everything held, as a download.
      const download = page.waitForEvent("download");
      await page.getByTestId("export").click();
      const file = await (await download).path();
      const exported = JSON.parse(fs.readFileSync(file!, "utf8"));
      expect(exported.account.username).toBe(name);
      expect(JSON.stringify(exported)).not.toContain("argon2");

      await page.getByTestId("delete-account").click();
      await page.getByLabel("Current password").fill(PASSWORD);
      await page.getByLabel("I understand: delete my account").check();
      await page.getByRole("button", { name: "Delete my account" }).click();
      await expect(page).toHaveURL(/\/login\?notice=deletion-requested$/);
      await mailArrives(email, "Your account will be deleted");
      await logIn(page, name);
      await expect(page.getByRole("alert").first()).toContainText("/account/keep");

      await page.goto("/account/keep");
      await page.getByLabel("Username or e-mail address").fill(name);
      await page.getByLabel("Current password").fill(PASSWORD);
      await page.getByRole("button", { name: "Keep my account" }).click();
      await expect(page).toHaveURL(/\/account\?notice=kept$/);

      await page.goto("/account/delete");
      await page.getByLabel("Current password").fill(PASSWORD);
      await page.getByLabel("I understand: delete my account").check();
      await page.getByRole("button", { name: "Delete my account" }).click();
      await expect(page).toHaveURL(/\/login\?notice=deletion-requested$/);
      // The grace passes: the purge run as if fifteen days were over.
      expect(latchkey(["purge", "--ahead-days", "15"])).toMatch(/erased [1-9]\d* accounts/);
      await register(page, name, email);
      await expect(page).toHaveURL(/\/account/);
      await expect(page.getByTestId("username")).toHaveText(name);
    });
  });
}
