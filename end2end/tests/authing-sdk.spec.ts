// Authing's official Node SDK (npm `authing-node-sdk`, as an app written for Authing uses it)
// against the live server: the reset flow in all three password encodings, and a business
// failure read from the resolved value. The SDK is axios underneath, which throws on any HTTP
// status but 2xx without handing over the body: Latchkey must answer business failures as
// HTTP 200 with the outcome in `statusCode`/`apiCode`, as Authing does.
import { AuthenticationClient } from "authing-node-sdk";
import JSEncrypt from "jsencrypt";
import { sm2 } from "sm-crypto";
import { test, expect, uniqueName, passcodeFromMail, PASSWORD } from "./fixtures";

/** The live server, as the configuration names it. */
function baseURL(): string {
  return test.info().project.use.baseURL!;
}

const NEW_PASSWORD = "a brand new passphrase";

function client(): AuthenticationClient {
  // The SDK insists on an app id and secret; Latchkey needs neither.
  return new AuthenticationClient({ appId: "latchkey-e2e", appSecret: "unused", appHost: baseURL() });
}

async function signUp(name: string): Promise<string> {
  const email = `${name}@example.com`;
  const response = await fetch(`${baseURL()}/v2/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username: name, password: PASSWORD, email_address: email }),
  });
  expect(response.status).toBe(200);
  return email;
}

async function signsInWith(name: string, password: string): Promise<number> {
  const response = await fetch(`${baseURL()}/v2/auth/login`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: JSON.stringify({ username: name, password }),
  });
  return response.status;
}

for (const encryption of ["none", "rsa", "sm2"] as const) {
  test(`the official Node SDK resets a password (${encryption})`, async () => {
    const sdk = client();
    const name = uniqueName(`sdk-${encryption}`);
    const email = await signUp(name);

    const sent = await sdk.sendEmail({ channel: "CHANNEL_RESET_PASSWORD" as any, email });
    expect(sent.statusCode).toBe(200);
    const code = await passcodeFromMail(email);

    // A wrong passcode is an answer, not an exception.
    const wrong = code === "000000" ? "111111" : "000000";
    const refused = await sdk.verifyResetPasswordRequest({
      verifyMethod: "EMAIL_PASSCODE" as any,
      emailPassCodePayload: { email, passCode: wrong },
    });
    expect(refused.statusCode).toBe(400);
    expect((refused as any).apiCode).toBe(2001);
    expect(refused.message).toBeTruthy();

    const granted = await sdk.verifyResetPasswordRequest({
      verifyMethod: "EMAIL_PASSCODE" as any,
      emailPassCodePayload: { email, passCode: code },
    });
    expect(granted.statusCode).toBe(200);
    const token = granted.data.passwordResetToken;
    expect(granted.data.tokenExpiresIn).toBe(900);

    const system = (await sdk.getSystemInfo()) as any;
    expect(system.statusCode).toBe(200);
    let password: string = NEW_PASSWORD;
    if (encryption === "rsa") {
      const sealer = new JSEncrypt();
      sealer.setPublicKey(system.data.rsa.publicKey);
      password = sealer.encrypt(NEW_PASSWORD) as string;
    } else if (encryption === "sm2") {
      // C1C3C2 (mode 1), with the `sm2:` prefix Authing's own encrypt() writes.
      const key: string = system.data.sm2.publicKey;
      password = "sm2:" + sm2.doEncrypt(NEW_PASSWORD, key, 1);
    }
    const done = await sdk.resetPassword({
      password,
      passwordResetToken: token,
      passwordEncryptType: encryption as any,
    });
    expect(done.statusCode).toBe(200);
    expect(done.data.success).toBe(true);

    // The token is spent: the SDK reads the refusal from the answer, too.
    const again = await sdk.resetPassword({
      password,
      passwordResetToken: token,
      passwordEncryptType: encryption as any,
    });
    expect(again.statusCode).toBe(400);
    expect((again as any).apiCode).toBe(2030);

    expect(await signsInWith(name, NEW_PASSWORD)).toBe(200);
    expect(await signsInWith(name, PASSWORD)).toBe(401);
  });
}
