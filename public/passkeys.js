// Passkeys in the browser: the server's WebAuthn options in, the authenticator's answer out.
// The pages that offer passkeys render their buttons hidden and load this module; where the
// browser can do WebAuthn's JSON forms, it shows them and runs the ceremonies through the
// server functions (/rpc/passkey_*). Everything else on those pages works without it.
//
// A plain module of our own rather than a part of the WASM: it is a few hundred bytes,
// loads only on the pages with a passkey button, and the browser does the encoding
// (parse…OptionsFromJSON / toJSON) that a WASM version would have to carry.

// A passkey is bound to the site's public address: on another address of the same server (the
// console's own listener, say) the browser or the server would refuse it, so nothing is shown.
const script = document.querySelector('script[src="/passkeys.js"]');
const boundTo = script && script.dataset.origin;
const supported =
  (!boundTo || boundTo === location.origin) &&
  typeof PublicKeyCredential !== "undefined" &&
  typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
  typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";

/** Calls a server function with form fields; its JSON answer, or an Error with its message. */
async function call(name, fields) {
  const response = await fetch(`/rpc/${name}`, {
    method: "POST",
    headers: { Accept: "application/json" },
    body: new URLSearchParams(fields),
  });
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (_) {
    body = text;
  }
  if (!response.ok) {
    const error = new Error((body && body.message) || "");
    error.fromServer = true;
    throw error;
  }
  return body;
}

function next() {
  return new URLSearchParams(location.search).get("next") || "";
}

/**
 * Runs `ceremony` when `event` reaches the block `element` (its button's click, or its form's
 * submit) and goes where the server says; else says what went wrong in the block's alert.
 */
function wire(element, event, ceremony) {
  const alert = element.querySelector("[role=alert]");
  const button = element.querySelector("button");
  const target = event === "click" ? button : element;
  target.addEventListener(event, async (e) => {
    e.preventDefault();
    alert.hidden = true;
    button.disabled = true;
    try {
      location.assign(await ceremony());
    } catch (error) {
      alert.textContent = (error.fromServer && error.message) || element.dataset.failed;
      alert.hidden = false;
      button.disabled = false;
    }
  });
}

async function create(start) {
  const options = JSON.parse(start.options).publicKey;
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
  });
  return JSON.stringify(credential.toJSON());
}

async function get(start) {
  const options = JSON.parse(start.options).publicKey;
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
  });
  return JSON.stringify(credential.toJSON());
}

const ceremonies = {
  // Sign in with a passkey and no username (/login).
  "sign-in": async () => {
    const start = await call("passkey_sign_in_start", {});
    const credential = await get(start);
    return call("passkey_sign_in_finish", { ceremony: start.ceremony, credential, next: next() });
  },
  // A passkey as the second step after the password (/login/second-factor).
  "second-factor": async () => {
    const start = await call("passkey_second_factor_start", {});
    const credential = await get(start);
    return call("passkey_second_factor_finish", { ceremony: start.ceremony, credential, next: next() });
  },
  // The console's check that the admin is at the keyboard (/admin/step-up).
  "step-up": async () => {
    const start = await call("admin_step_up_passkey_start", {});
    const credential = await get(start);
    return call("admin_step_up_passkey_finish", { ceremony: start.ceremony, credential, next: next() });
  },
};

for (const element of document.querySelectorAll("[data-passkey]")) {
  if (!supported) continue;
  element.hidden = false;
  const kind = element.dataset.passkey;
  if (kind === "add") {
    // Adding one on the security page: a form with the passkey's name.
    wire(element, "submit", async () => {
      const password = element.querySelector("[name=password]").value;
      const start = await call("passkey_register_start", { password });
      const credential = await create(start);
      const name = element.querySelector("[name=name]").value;
      return call("passkey_register_finish", { ceremony: start.ceremony, name, credential });
    });
  } else if (ceremonies[kind]) {
    wire(element, "click", ceremonies[kind]);
  }
}
