"""The OpenID Connect code flow with PKCE, driven by authlib (PyPI), a relying-party library
nobody here wrote: discovery, authorization (a person signing in and consenting by plain form
posts, as a browser without JavaScript does), the code exchange, id_token validation against
the published JWKS, userinfo, refresh, revocation; and a public client doing the same with
`none` as its authentication. Run by scripts/oidc-clients against a release server.

Usage: authlib_flow.py ISSUER CONFIDENTIAL_ID CONFIDENTIAL_SECRET PUBLIC_ID USERNAME PASSWORD
"""

import re
import sys
import urllib.parse
import warnings

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError

# authlib.jose says it will move to joserfc in 2.0; its OpenID Connect id_token checks
# (CodeIDToken: nonce, at_hash, azp, expiry) are still built on it in 1.x. authlib installs
# its own "always" filter for the warning when imported, so this one comes after it.
warnings.filterwarnings("ignore", message="authlib.jose module is deprecated")
from authlib.jose import JsonWebKey, jwt  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402

REDIRECT = "http://127.0.0.1:9/callback"

issuer, confidential_id, confidential_secret, public_id, username, password = sys.argv[1:7]
metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
assert metadata["issuer"] == issuer, metadata["issuer"]
jwks = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())

# One browser for the whole run: it signs in once, then is sent straight back.
browser = requests.Session()
browser.headers["Accept"] = "text/html"


def follow_to_app(response):
    """Follows the browser's redirects until one goes to the app; signs in and consents on the
    way when Latchkey asks, by posting its forms."""
    for _ in range(12):
        location = response.headers.get("location")
        if response.status_code == 200:
            # After a form, Latchkey sends the browser on from a page (a meta refresh), as
            # a browser follows it.
            refresh = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', response.text)
            assert refresh, response.text[:300]
            location = refresh.group(1).replace("&amp;", "&")
        else:
            assert response.status_code in (302, 303), (response.status_code, response.text[:300])
        if location.startswith(REDIRECT):
            return location
        url = urllib.parse.urljoin(issuer, location)
        path = urllib.parse.urlparse(url).path
        query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
        if path == "/login":
            response = browser.post(
                f"{issuer}/rpc/login",
                data={"identifier": username, "password": password, "next": query["next"][0]},
                headers={"Referer": url},
                allow_redirects=False,
            )
        elif path == "/oauth/consent":
            page = browser.get(url, timeout=10)
            assert "Python Notes" in page.text, page.text[:500]
            response = browser.post(
                f"{issuer}/rpc/answer_consent",
                data={"request": query["request"][0], "allow": "yes"},
                headers={"Referer": url},
                allow_redirects=False,
            )
        else:
            response = browser.get(url, allow_redirects=False, timeout=10)
    raise AssertionError("never sent back to the app")


def sign_in(client, **extra):
    """A code flow from the start: returns the token and the nonce the id_token must carry."""
    verifier = generate_token(64)
    nonce = generate_token(20)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
    )
    back = follow_to_app(browser.get(url, allow_redirects=False, timeout=10))
    answer = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(back).query))
    assert answer["state"] == state and answer["iss"] == issuer, answer
    token = client.fetch_token(
        metadata["token_endpoint"], authorization_response=back, code_verifier=verifier
    )
    return token, nonce


def check_id_token(token, nonce, client_id):
    claims = jwt.decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": issuer}},
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate()
    assert claims["amr"] == ["pwd"] and claims["acr"] == "pwd", claims
    return claims


scope = "openid profile email offline_access"
confidential = OAuth2Session(
    confidential_id,
    confidential_secret,
    scope=scope,
    redirect_uri=REDIRECT,
    code_challenge_method="S256",
)
token, nonce = sign_in(confidential)
claims = check_id_token(token, nonce, confidential_id)
info = confidential.get(metadata["userinfo_endpoint"]).json()
assert info["sub"] == claims["sub"] and info["preferred_username"] == username, info
print(f"authlib: signed in as {info['preferred_username']} (sub {info['sub']})")

refreshed = confidential.refresh_token(metadata["token_endpoint"])
assert refreshed["refresh_token"] != token["refresh_token"], "rotated"
info = confidential.get(metadata["userinfo_endpoint"]).json()
assert info["sub"] == claims["sub"], info
print("authlib: refreshed, userinfo still answers")

revoked = confidential.revoke_token(
    metadata["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token"
)
assert revoked.status_code == 200, revoked.text
try:
    confidential.refresh_token(metadata["token_endpoint"], refresh_token=refreshed["refresh_token"])
    raise AssertionError("a revoked refresh token still refreshed")
except OAuthError as error:
    assert error.error == "invalid_grant", error
assert confidential.get(metadata["userinfo_endpoint"]).status_code == 401
print("authlib: revoked; the refresh token and the access token no longer work")

# A public client: no secret, PKCE alone; the person is already signed in and goes straight
# back (first party: no consent).
public = OAuth2Session(
    public_id,
    scope="openid email",
    redirect_uri=REDIRECT,
    code_challenge_method="S256",
    token_endpoint_auth_method="none",
)
token, nonce = sign_in(public)
check_id_token(token, nonce, public_id)
assert "refresh_token" not in token, "no offline_access asked, no refresh token"
info = public.get(metadata["userinfo_endpoint"]).json()
assert info["email"] == f"{username}@example.com" and "preferred_username" not in info, info
print("authlib: a public client signed in with PKCE alone")

# client_secret_post, and a wrong secret refused as invalid_client.
post = OAuth2Session(
    confidential_id,
    confidential_secret,
    scope="openid",
    redirect_uri=REDIRECT,
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_post",
)
sign_in(post)
wrong = OAuth2Session(
    confidential_id, "not-the-secret", scope="openid", redirect_uri=REDIRECT,
    code_challenge_method="S256",
)
try:
    sign_in(wrong)
    raise AssertionError("a wrong secret was accepted")
except OAuthError as error:
    assert error.error == "invalid_client", error
print("authlib: client_secret_post works; a wrong secret is invalid_client")
print("authlib: every flow passed")
