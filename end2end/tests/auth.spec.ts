import { test, expect, hydrated, register, logIn, uniqueName, PASSWORD } from "./fixtures";

test.describe("with JavaScript", () => {
  test("register, land on the account, sign out, sign in again", async ({ page }) => {
    const name = uniqueName("alice");
    const email = `${name}@example.com`;
    await page.goto("/register");
    await hydrated(page);
    await register(page, name, email);
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("username")).toHaveText(name);
    await expect(page.getByTestId("email")).toHaveText(email);
    await expect(page.getByText("not verified")).toBeVisible();
    await expect(page.getByTestId("plan")).toHaveText("Free");
    await expect(page.getByTestId("credits")).toHaveText("0");

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?next=%2Faccount$/);

    await logIn(page, email.toUpperCase());
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("username")).toHaveText(name);
  });

  test("the browser checks the form with the domain rules before sending it", async ({ page }) => {
    await page.goto("/register");
    await hydrated(page);
    let sent = 0;
    page.on("request", (r) => {
      if (r.url().includes("/rpc/register")) sent++;
    });
    const name = uniqueName("same");
    await page.getByLabel("Username").fill(name);
    await page.getByLabel("E-mail address").fill(`${name}@example.com`);
    await page.getByLabel("Password").fill(name.toUpperCase());
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.locator("#password-error")).toContainText("cannot be your username");
    await expect(page).toHaveURL(/\/register$/);
    expect(sent).toBe(0);
  });

  test("a taken username is marked on its field without leaving the page", async ({ page }) => {
    const name = uniqueName("taken");
    await register(page, name, `${name}@example.com`);
    await expect(page).toHaveURL(/\/account$/);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);

    await page.goto("/register");
    await hydrated(page);
    await register(page, name.toUpperCase(), `other-${name}@example.com`);
    await expect(page.locator("#username-error")).toHaveText("That username is taken. Choose another.");
    await expect(page).toHaveURL(/\/register$/);
  });

  test("a wrong password and an unknown user get the same message", async ({ page }) => {
    const name = uniqueName("known");
    await register(page, name, `${name}@example.com`);
    await expect(page).toHaveURL(/\/account$/);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);

    const messages: string[] = [];
    for (const who of [name, uniqueName("nobody")]) {
      await page.goto("/login");
      await hydrated(page);
      await logIn(page, who, "definitely wrong");
      const alert = page.locator(".form-alert");
      await expect(alert).toBeVisible();
      messages.push((await alert.textContent()) ?? "");
      await expect(page).toHaveURL(/\/login$/);
    }
    expect(messages[0]).toBe("Incorrect username, e-mail address or password.");
    expect(messages[1]).toBe(messages[0]);
  });

  test("five wrong passwords lock sign-in, with the same words for an unknown user", async ({ page }) => {
    const name = uniqueName("lock");
    await register(page, name, `${name}@example.com`);
    await expect(page).toHaveURL(/\/account$/);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);

    const lockouts: string[] = [];
    for (const who of [name, uniqueName("ghost")]) {
      await page.goto("/login");
      await hydrated(page);
      const alert = page.locator(".form-alert");
      for (let attempt = 1; attempt <= 5; attempt++) {
        await logIn(page, who, `wrong guess ${attempt}`);
        await expect(alert).toHaveText("Incorrect username, e-mail address or password.");
      }
      // Even the right password waits now.
      await logIn(page, who, PASSWORD);
      await expect(alert).toHaveText(/^Too many requests\. Try again in \d+ seconds\.$/);
      lockouts.push(((await alert.textContent()) ?? "").replace(/\d+/, "N"));
      await expect(page).toHaveURL(/\/login$/);
    }
    expect(lockouts[1]).toBe(lockouts[0]);
  });

  test("the button shows a pending state while signing in", async ({ page }) => {
    const name = uniqueName("pend");
    await register(page, name, `${name}@example.com`);
    await expect(page).toHaveURL(/\/account$/);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.goto("/login");
    await hydrated(page);
    // The browser posts the form itself and leaves the page when the answer comes, so the page
    // notes every state its button takes where the next page can read it.
    await page.evaluate(() => {
      const button = document.querySelector("form[action=\"/rpc/login\"] button[type=submit]")!;
      new MutationObserver(() => {
        const state = `${(button as HTMLButtonElement).disabled ? "disabled" : "enabled"}: ${button.textContent}`;
        sessionStorage.setItem("button states", `${sessionStorage.getItem("button states") ?? ""}${state}\n`);
      }).observe(button, { attributes: true, childList: true, characterData: true, subtree: true });
    });
    await page.getByLabel("Username or e-mail address").fill(name);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(/\/account$/);
    const states = await page.evaluate(() => sessionStorage.getItem("button states"));
    expect(states).toContain("disabled: Signing in…");
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("register lands on the account page", async ({ page }) => {
    const name = uniqueName("nojs");
    await register(page, name, `${name}@example.com`);
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("username")).toHaveText(name);
  });

  test("sign in, with the same error for a wrong password and an unknown user", async ({ page }) => {
    const name = uniqueName("nojs-login");
    await register(page, name, `${name}@example.com`);
    await expect(page).toHaveURL(/\/account$/);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);

    for (const who of [name, uniqueName("nobody")]) {
      await logIn(page, who, "definitely wrong");
      await expect(page.locator(".form-alert")).toHaveText(
        "Incorrect username, e-mail address or password.",
      );
    }
    await logIn(page, name);
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("username")).toHaveText(name);
  });

  test("a refused registration shows the field error", async ({ page }) => {
    const name = uniqueName("nojs-common");
    await register(page, name, `${name}@example.com`, "iloveyou1");
    await expect(page.locator("#password-error")).toContainText("most common");
  });
});

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "password rule, with JavaScript" : "password rule, without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("a too-short password gets Latchkey's own words by the field", async ({ page }) => {
      await page.goto("/register");
      if (javaScriptEnabled) await hydrated(page);
      const name = uniqueName(javaScriptEnabled ? "short" : "short-nojs");
      await page.getByLabel("Username").fill(name);
      await page.getByLabel("E-mail address").fill(`${name}@example.com`);
      await page.getByLabel("Password").fill("short");
      await page.getByRole("button", { name: "Create account" }).click();
      // The same words the server gives a REST client, under the field the message names.
      await expect(page.locator("#password-error")).toHaveText("Use at least 8 characters for the password.");
      await expect(page.getByLabel("Password")).toHaveAttribute("aria-describedby", "password-error");
      await expect(page).toHaveURL(/\/register(\?|$)/);
    });
  });
}
