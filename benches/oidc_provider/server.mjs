// panva's oidc-provider, a certified OpenID Provider, set up with the features Latchkey's
// provider has, for benches/run to measure beside it on the same machine: the code flow with
// PKCE and client_secret_basic, RS256 id_tokens, refresh tokens rotated at every use,
// userinfo, revocation, RP-initiated and back-channel logout. Its sign-in is the library's
// own development interaction (any name signs in), which the bench passes once; storage is
// its default in-memory adapter (it ships no database adapter), which spares it the durable
// writes Latchkey makes.
//
//   PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI  (environment)

import Provider from "oidc-provider";
import { generateKeyPairSync } from "node:crypto";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), alg: "RS256", use: "sig", kid: "bench" };

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    post_logout_redirect_uris: [`${issuer}/bye`],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  scopes: ["openid", "profile", "email", "offline_access"],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["preferred_username"] },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
  },
  // A refresh token for every code, as Latchkey gives one for offline_access, rotated at use.
  issueRefreshToken: async () => true,
  rotateRefreshToken: true,
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 30 * 24 * 3600 },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@example.com`, email_verified: false, preferred_username: id }),
  }),
});
provider.proxy = false;
provider.listen(port, "127.0.0.1", () => console.log(`listening ${issuer}`));
