# Installs what building and testing Latchkey needs, skipping whatever is already there.
# Sourced by scripts/serve and scripts/test; safe to run again and again.
#
#   ensure_build_tools   wasm32 target, cargo-leptos, wasm-bindgen CLI, wasm-opt (npm binaryen)
#   ensure_browser       Debian's Chromium, for Playwright
#   ensure_proxy         Debian's nginx, the reverse proxy of the multi-node browser test
#   ensure_schemathesis  schemathesis from PyPI in a virtualenv, for the API contract run
#   ensure_authlib      authlib and requests in a virtualenv, the second OpenID Connect client
#   ensure_fastapi_users fastapi-users and uvicorn in a virtualenv, for the benchmark comparison
#
# Why these ways: see ../shared/BUILD.md. In short, the machines reach only the package
# registries, so nothing may download its own binaries from elsewhere.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION="0.3.11"
BINARYEN_VERSION="132.0.0"
SCHEMATHESIS_VERSION="4.32.5"
# An independent check that /openapi.json is a valid OpenAPI document (schemathesis tolerates
# some invalid ones, such as repeated operation ids, that client generators do not).
OPENAPI_VALIDATOR_VERSION="0.9.0"
# The OpenID Connect relying party the test command drives besides openid-client (npm).
AUTHLIB_VERSION="1.9.10"
REQUESTS_VERSION="2.34.2"
# Outside the clone, so a fresh clone on the same machine reuses it.
AUTHLIB_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/authlib-$AUTHLIB_VERSION"
SCHEMATHESIS_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/schemathesis-$SCHEMATHESIS_VERSION"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The wasm-bindgen CLI must be exactly the version of the crate in Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_build_tools() {
  ensure_openssl_headers
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi

  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "Installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes, once)"
    # --locked fails on rustc 1.95 (a dependency wants 1.96) and the newest versions are
    # worse; this exact version compiles fine when allowed to.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --ignore-rust-version
  fi

  local bindgen
  bindgen="$(wasm_bindgen_version)"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $bindgen\$"; then
    say "Installing wasm-bindgen-cli $bindgen (about 6 minutes, once)"
    # Not --locked: its lock file pins a webpki-roots that no longer builds.
    cargo install wasm-bindgen-cli --version "$bindgen" --force
  fi

  ensure_npm_packages
  # npm's binaryen first on PATH: Debian's wasm-opt (version 108) breaks hydration.
  export PATH="$ROOT/end2end/node_modules/.bin:$PATH"
  if ! wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    echo "wasm-opt from npm binaryen@$BINARYEN_VERSION is missing from end2end/node_modules" >&2
    exit 1
  fi
}

ensure_npm_packages() {
  local stamp="$ROOT/end2end/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$ROOT/end2end/package-lock.json" -nt "$stamp" ]; then
    say "Installing the npm packages of end2end/ (Playwright, binaryen)"
    # Playwright's own browser download cannot work here; Debian's Chromium is used instead.
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

# Installs Debian packages (as root, or through sudo).
debian_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# nginx from Debian: the reverse proxy the multi-node browser test runs behind.
ensure_proxy() {
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    say "Installing nginx from Debian"
    debian_install nginx-light
  fi
}

# What the failover run (scripts/failover.sh) needs from Debian: Patroni, etcd, HAProxy.
ensure_failover_tools() {
  local missing=()
  command -v patroni >/dev/null || missing+=(patroni)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  if [ "${#missing[@]}" -gt 0 ]; then
    say "Installing ${missing[*]} from Debian"
    debian_install "${missing[@]}"
  fi
}

ensure_browser() {
  if [ ! -x /usr/bin/chromium ]; then
    say "Installing Chromium from Debian"
    debian_install chromium
  fi
}

# webauthn-rs checks passkeys with OpenSSL: the server links Debian's libssl, built against
# its headers, found through pkg-config.
ensure_openssl_headers() {
  if ! pkg-config --exists openssl 2>/dev/null; then
    say "Installing OpenSSL's headers from Debian (passkeys)"
    debian_install libssl-dev pkg-config
  fi
}

# A virtualenv at $1 (Debian's python3 lacks the venv module until python3-venv is installed).
make_venv() {
  if ! python3 -m venv "$1" 2>/dev/null; then
    debian_install python3-venv
    python3 -m venv "$1"
  fi
}

ensure_authlib() {
  local installed
  # Nothing there yet fails the pipe: that is "not installed", not an error.
  installed="$("$AUTHLIB_VENV/bin/pip" show authlib 2>/dev/null | sed -n 's/^Version: //p')" || true
  if [ "$installed" != "$AUTHLIB_VERSION" ]; then
    say "Installing authlib $AUTHLIB_VERSION from PyPI (once)"
    make_venv "$AUTHLIB_VENV"
    "$AUTHLIB_VENV/bin/pip" install --quiet --disable-pip-version-check \
      "authlib==$AUTHLIB_VERSION" "requests==$REQUESTS_VERSION"
  fi
}

ensure_schemathesis() {
  if ! "$SCHEMATHESIS_VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    say "Installing schemathesis $SCHEMATHESIS_VERSION from PyPI (about a minute, once)"
    make_venv "$SCHEMATHESIS_VENV"
    "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check \
      "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  # sed reads pip's whole answer: `grep -q` would stop early, and under pipefail pip's broken
  # pipe would read as "not installed".
  local installed
  installed="$("$SCHEMATHESIS_VENV/bin/pip" show openapi-spec-validator 2>/dev/null |
    sed -n 's/^Version: //p')"
  if [ "$installed" != "$OPENAPI_VALIDATOR_VERSION" ]; then
    say "Installing openapi-spec-validator $OPENAPI_VALIDATOR_VERSION from PyPI (once)"
    "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check \
      "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION"
  fi
}

# fastapi-users and uvicorn, for the benchmarks' comparison run (benches/run).
FASTAPI_USERS_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/fastapi-users-15.0.5"
ensure_fastapi_users() {
  if ! "$FASTAPI_USERS_VENV/bin/python" -c 'import fastapi_users, uvicorn, aiosqlite' 2>/dev/null; then
    say "Installing fastapi-users 15.0.5 from PyPI (the benchmarks' comparison, once)"
    make_venv "$FASTAPI_USERS_VENV"
    "$FASTAPI_USERS_VENV/bin/pip" install --quiet --disable-pip-version-check \
      "fastapi-users[sqlalchemy]==15.0.5" fastapi-users-db-sqlalchemy==7.0.0 \
      fastapi==0.165.0 uvicorn==0.54.0 aiosqlite==0.22.1 SQLAlchemy==2.0.58 pwdlib==0.3.0 \
      argon2-cffi==25.1.0
  fi
}
