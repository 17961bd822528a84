import { proxyURL } from "../playwright.config";
import {
  test,
  expect,
  hydrated,
  register,
  logIn,
  uniqueName,
  linkFromMail,
  passcodeFromMail,
  VERIFY_LINK,
  PASSWORD,
  PROXY_OUTBOX,
  setNewPassword,
} from "./fixtures";

// Two Latchkey nodes on one PostgreSQL database behind nginx, which hands requests to them in
// turn (proxy-cluster.sh): every step below may land on either node, and both must serve.
test.use({ baseURL: proxyURL });

test("sign up, verify, sign in and reset by passcode through a proxy over two nodes", async ({ page }) => {
  const nodes = new Set<string>();
  page.on("response", (r) => {
    const node = r.headers()["x-latchkey-node"];
    if (node) nodes.add(node);
  });
  const name = uniqueName("roaming");
  const email = `${name}@example.com`;
  const newPassword = "a passphrase set via either node";

  await page.goto("/register");
  await hydrated(page);
  await register(page, name, email);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("username")).toHaveText(name);

  await page.goto(await linkFromMail(email, VERIFY_LINK, PROXY_OUTBOX));
  await page.getByRole("button", { name: "Verify my e-mail address" }).click();
  await expect(page).toHaveURL(/\/email-verified$/);
  await page.goto("/account");
  await expect(page.getByText("not verified")).toHaveCount(0);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await logIn(page, name);
  await expect(page).toHaveURL(/\/account$/);
  // Reloads land on the other node; the session holds on both.
  for (let n = 0; n < 3; n++) {
    await page.reload();
    await expect(page.getByTestId("username")).toHaveText(name);
  }
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await page.goto("/forgot/password");
  await hydrated(page);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByRole("button", { name: "Mail me a passcode" }).click();
  // Where the passcode went rides in a signed cookie, which either node can read.
  await expect(page).toHaveURL(/\/forgot\/password\?step=code$/);
  await expect(page.getByText(email)).toBeVisible();
  await page.getByLabel("Passcode").fill(await passcodeFromMail(email, 0, PROXY_OUTBOX));
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/forgot\/password\?token=/);
  await setNewPassword(page, newPassword);

  await logIn(page, name, PASSWORD);
  await expect(page.locator(".form-alert")).toHaveText("Incorrect username, e-mail address or password.");
  await logIn(page, email, newPassword);
  await expect(page).toHaveURL(/\/account$/);
  expect(nodes.size, `answered by ${[...nodes].join(", ")}`).toBe(2);
});
