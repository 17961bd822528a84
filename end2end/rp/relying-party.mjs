// A small web app that signs its users in with Latchkey through panva's `openid-client`, the
// certified relying-party library, used as its documentation shows, unchanged. The browser
// tests drive it in Chromium; nothing in it knows Latchkey beyond the issuer's address.
//
//   ISSUER, CLIENT_ID, CLIENT_SECRET, PORT  (PORT 0: any free port; the first line of stdout
//   says `listening <url>`)
//
// Pages: /login (starts the code flow with PKCE, a state and a nonce; `?acr=mfa` asks for a
// second factor, `?lang=zh-CN` passes `ui_locales`), /callback (exchanges the code, reads
// userinfo), /refresh, /logout (RP-initiated), /backchannel (receives logout tokens, checked
// with `jose` against the provider's JWKS), /events (what the back channel received, JSON).

import * as http from "node:http";
import * as client from "openid-client";
import * as jose from "jose";

const issuer = new URL(process.env.ISSUER);
const clientId = process.env.CLIENT_ID;
const clientSecret = process.env.CLIENT_SECRET;

// The provider is served over plain http on loopback in the tests, which the library refuses
// unless told: this is its documented switch for that, not a change to what it checks.
const config = await client.discovery(issuer, clientId, clientSecret, undefined, {
  execute: [client.allowInsecureRequests],
});
const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));

/** The app's own sessions: cookie value → what it knows of the person. */
const sessions = new Map();
/** Flows in progress: state → { verifier, nonce, acr }. */
const flows = new Map();
/** Back-channel logout tokens received and verified: their claims. */
const loggedOut = [];

let base = "";

function page(res, status, title, body, cookie) {
  const headers = { "content-type": "text/html; charset=utf-8" };
  if (cookie !== undefined) headers["set-cookie"] = cookie;
  res.writeHead(status, headers);
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body><h1>${title}</h1>${body}</body></html>`);
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sessionOf(req) {
  const match = /(?:^|;\s*)rp_session=([^;]+)/.exec(req.headers.cookie || "");
  return match ? sessions.get(match[1]) : undefined;
}

function signedInPage(res, who, cookie) {
  const claims = who.claims;
  page(res, 200, "Signed in to the app", `
    <p id="who">Signed in as <span id="username">${escape(who.userinfo.preferred_username)}</span></p>
    <p>E-mail: <span id="email">${escape(who.userinfo.email)}</span></p>
    <p>amr: <span id="amr">${escape((claims.amr || []).join(" "))}</span>,
       acr: <span id="acr">${escape(claims.acr)}</span>, sid: <span id="sid">${escape(claims.sid)}</span></p>
    <p>Refreshed: <span id="refreshed">${who.refreshed}</span></p>
    <p><a href="/refresh">Refresh</a> · <a href="/logout">Sign out</a></p>`, cookie);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

async function handle(req, res) {
  const url = new URL(req.url, base);
  switch (url.pathname) {
    case "/login": {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const parameters = {
        redirect_uri: `${base}/callback`,
        scope: "openid profile email offline_access",
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        state,
        nonce,
      };
      const acr = url.searchParams.get("acr");
      if (acr) parameters.acr_values = acr;
      const lang = url.searchParams.get("lang");
      if (lang) parameters.ui_locales = lang;
      flows.set(state, { verifier, nonce, acr });
      res.writeHead(302, { location: client.buildAuthorizationUrl(config, parameters).href });
      return res.end();
    }
    case "/callback": {
      const flow = flows.get(url.searchParams.get("state") || "");
      if (!flow) return page(res, 400, "Unknown sign-in", "<p>No such state.</p>");
      flows.delete(url.searchParams.get("state"));
      let tokens;
      try {
        tokens = await client.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: flow.verifier,
          expectedState: url.searchParams.get("state"),
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
      } catch (e) {
        return page(res, 400, "Sign-in failed", `<p id="error">${escape(e.error || e.code || e.message)}</p>` +
          `<p id="error-description">${escape(e.error_description || e.message)}</p>`);
      }
      const claims = tokens.claims();
      if (flow.acr === "mfa" && claims.acr !== "mfa") {
        return page(res, 400, "Sign-in failed", `<p id="error">acr ${escape(claims.acr)} is not mfa</p>`);
      }
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      const id = client.randomState();
      const who = { tokens, claims, userinfo, refreshed: 0 };
      sessions.set(id, who);
      return signedInPage(res, who, `rp_session=${id}; Path=/; HttpOnly; SameSite=Lax`);
    }
    case "/refresh": {
      const who = sessionOf(req);
      if (!who) return page(res, 401, "Not signed in", "");
      const tokens = await client.refreshTokenGrant(config, who.tokens.refresh_token);
      who.tokens = tokens;
      who.claims = tokens.claims() || who.claims;
      who.userinfo = await client.fetchUserInfo(config, tokens.access_token, who.claims.sub);
      who.refreshed += 1;
      return signedInPage(res, who);
    }
    case "/logout": {
      const who = sessionOf(req);
      if (!who) return page(res, 401, "Not signed in", "");
      const to = client.buildEndSessionUrl(config, {
        id_token_hint: who.tokens.id_token,
        post_logout_redirect_uri: `${base}/bye`,
        state: "bye-state",
      });
      res.writeHead(302, { location: to.href, "set-cookie": "rp_session=; Path=/; Max-Age=0" });
      return res.end();
    }
    case "/bye":
      return page(res, 200, "Signed out of the app",
        `<p id="state">${escape(url.searchParams.get("state"))}</p>`);
    case "/backchannel": {
      if (req.method !== "POST") break;
      const form = new URLSearchParams(await readBody(req));
      try {
        const { payload } = await jose.jwtVerify(form.get("logout_token"), jwks, {
          issuer: config.serverMetadata().issuer,
          audience: clientId,
          typ: "logout+jwt",
          algorithms: ["RS256"],
        });
        const event = payload.events?.["http://schemas.openid.net/event/backchannel-logout"];
        if (!event || payload.nonce !== undefined || !payload.sid) throw new Error("not a logout token");
        loggedOut.push(payload);
        for (const [id, who] of sessions) if (who.claims.sid === payload.sid) sessions.delete(id);
        res.writeHead(200);
      } catch (e) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "invalid_request", error_description: String(e) }));
        return;
      }
      return res.end();
    }
    case "/favicon.ico":
      res.writeHead(204);
      return res.end();
    case "/events":
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(loggedOut));
  }
  page(res, 404, "Not found", "");
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(e);
    if (!res.headersSent) page(res, 500, "Error", `<p id="error">${escape(e.message)}</p>`);
  });
});
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  base = `http://localhost:${server.address().port}`;
  console.log(`listening ${base}`);
});
