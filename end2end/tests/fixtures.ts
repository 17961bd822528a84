import { test as base, expect, Page } from "@playwright/test";

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
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    await use(page);
    expect(problems, problems.join("\n")).toEqual([]);
  },
});

export { expect };

/** Waits until the WASM app has taken over the page. */
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached", timeout: 30_000 });
}

export async function register(page: Page, username: string, email: string, password = PASSWORD) {
  await page.goto("/register");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
}

export async function logIn(page: Page, identifier: string, password = PASSWORD) {
  await page.goto("/login");
  await page.getByLabel("Username or e-mail address").fill(identifier);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}
