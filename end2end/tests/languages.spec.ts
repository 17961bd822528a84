import * as fs from "node:fs";
import * as path from "node:path";
import { Page } from "@playwright/test";
import { test, expect, hydrated, uniqueName, passcodeFromMail, PASSWORD } from "./fixtures";

/**
 * The catalogues as the server compiles them (src/i18n/en.rs, zh_cn.rs): `key: "text",` with
 * Rust's line continuations. The English strings a Chinese page must not show are those the
 * Chinese catalogue words differently.
 */
function catalogue(file: string): Map<string, string> {
  const source = fs.readFileSync(path.join(__dirname, "..", "..", "src", "i18n", file), "utf8");
  const body = source.slice(source.indexOf("pub static TEXT"));
  const entries = new Map<string, string>();
  for (const m of body.matchAll(/^\s+(\w+): "((?:[^"\\]|\\.)*)",/gms)) {
    entries.set(m[1], m[2].replace(/\\\n\s*/g, ""));
  }
  return entries;
}

const english = catalogue("en.rs");
const chinese = catalogue("zh_cn.rs");
const englishWords = [...english.entries()]
  .filter(([key, text]) => chinese.get(key) !== text)
  .flatMap(([key, text]) => text.split("{}").map((part) => [key, part.trim()] as const))
  .filter(([, part]) => part.length >= 4);

/** The page is in Chinese: `<html lang>`, and no string of the English catalogue visible. */
async function expectChinese(page: Page) {
  // The catalogues were read: a parse that found nothing would let any page pass.
  expect(english.size).toBe(chinese.size);
  expect(englishWords.length).toBeGreaterThan(100);
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
  const text = await page.locator("body").innerText();
  const left = englishWords.filter(([, words]) => text.includes(words));
  expect(left, `English left on ${page.url()}:\n${text}`).toEqual([]);
  for (const key of english.keys()) expect(text).not.toContain(key);
}

/** Sign up, sign out, sign in, and reset the password by passcode, all in Chinese. */
async function journeyInChinese(page: Page, javaScript: boolean, prefix: string) {
  const name = uniqueName(prefix);
  const email = `${name}@example.com`;
  const newPassword = "另一个很长的新密码 2026";

  await page.goto("/register");
  if (javaScript) await hydrated(page);
  await expectChinese(page);
  await page.getByLabel("用户名").fill(name);
  await page.getByLabel("电子邮件地址").fill(email);
  await page.getByLabel("密码").fill(PASSWORD);
  await page.getByRole("button", { name: "创建账户" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expectChinese(page);
  await expect(page.getByTestId("email-status")).toHaveText("未验证");
  await expect(page.getByTestId("plan")).toHaveText("免费");
  await expect(page.getByTestId("sessions-count")).toHaveText("已在 1 台设备上登录。");

  await page.getByRole("button", { name: "退出登录" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expectChinese(page);
  if (javaScript) await hydrated(page);
  await page.getByLabel("用户名或电子邮件地址").fill(name);
  await page.getByLabel("密码").fill("这不是密码但足够长");
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "不正确" })).toHaveText(
    "用户名、电子邮件地址或密码不正确。",
  );
  await expectChinese(page);

  await page.getByRole("link", { name: "忘记密码?" }).click();
  await expect(page).toHaveURL(/\/forgot\/password$/);
  await expectChinese(page);
  await page.getByLabel("电子邮件地址").fill(email);
  await page.getByRole("button", { name: "发邮件给我验证码" }).click();
  await expect(page).toHaveURL(/\/forgot\/password\?step=code$/);
  await expectChinese(page);
  await page.getByLabel("验证码").fill(await passcodeFromMail(email));
  await page.getByRole("button", { name: "继续" }).click();
  await expect(page).toHaveURL(/\/forgot\/password\?token=/);
  if (javaScript) await hydrated(page);
  await expectChinese(page);
  // The browser's own check speaks Chinese too (with JavaScript; without, the server's).
  await page.getByLabel("新密码", { exact: true }).fill(newPassword);
  await page.getByLabel("再次输入新密码").fill(newPassword + "!");
  await page.getByRole("button", { name: "设置新密码" }).click();
  await expect(page.locator("#new_password_again-error")).toHaveText("两次输入的新密码不一致。");
  await expectChinese(page);
  await page.getByLabel("新密码", { exact: true }).fill(newPassword);
  await page.getByLabel("再次输入新密码").fill(newPassword);
  await page.getByRole("button", { name: "设置新密码" }).click();
  await expect(page).toHaveURL(/\/login\?notice=password-reset$/);
  await expect(page.getByRole("status")).toHaveText("密码已重置。请用新密码登录。");
  await expectChinese(page);

  if (javaScript) await hydrated(page);
  await page.getByLabel("用户名或电子邮件地址").fill(email);
  await page.getByLabel("密码").fill(newPassword);
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("username")).toHaveText(name);
  await expectChinese(page);
}

for (const javaScriptEnabled of [true, false]) {
  const how = javaScriptEnabled ? "with JavaScript" : "without JavaScript";
  test.describe(how, () => {
    test.use({ javaScriptEnabled });

    test.describe("a Chinese browser (Accept-Language)", () => {
      test.use({ locale: "zh-CN" });
      test("signs up, in, and resets a password in Chinese", async ({ page }) => {
        await journeyInChinese(page, javaScriptEnabled, javaScriptEnabled ? "zh" : "zh-nojs");
      });
    });

    test.describe("an English browser that switches", () => {
      test.use({ locale: "en-US" });
      test("chooses Chinese with the switch, keeps it, and can switch back", async ({ page }) => {
        await page.goto("/forgot/username");
        await expect(page.locator("html")).toHaveAttribute("lang", "en");
        await page.getByTestId("language-switch").click();
        await expect(page).toHaveURL(/\/forgot\/username$/);
        await expectChinese(page);
        await journeyInChinese(page, javaScriptEnabled, javaScriptEnabled ? "switch" : "switch-nojs");
        await page.getByTestId("language-switch").click();
        await expect(page).toHaveURL(/\/account$/);
        await expect(page.locator("html")).toHaveAttribute("lang", "en");
        await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
      });
    });
  });
}
