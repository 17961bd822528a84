#!/usr/bin/env bash
# Two Latchkey nodes (the release build) on one PostgreSQL database, behind nginx balancing
# round-robin: the service `proxy.spec.ts` signs up, verifies, signs in and resets through.
# Started by Playwright (playwright.config.ts), which stops it after the run. Uses the cluster
# LATCHKEY_TEST_POSTGRES names (the test command starts one), else starts its own.
#
#   proxy-cluster.sh PORT    serves on http://127.0.0.1:PORT; both nodes share .data-proxy/,
#                            so every mail either node delivers lands in .data-proxy/outbox/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
port="$1"
say() { echo "$*" >&2; }
source "$here/../scripts/postgres.sh"

work="$(mktemp -d /tmp/latchkey-proxy.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${own_cluster:-}" ] && postgres_stop "$own_cluster"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' TERM INT

if [ -z "${LATCHKEY_TEST_POSTGRES:-}" ]; then
  # Its own directory: the cluster's owner must be able to reach it.
  own_cluster="$(mktemp -d /tmp/latchkey-postgres.XXXXXX)"
  postgres_start "$own_cluster"
fi
database="latchkey_journey_$$_$(date +%s)"
psql -q "$LATCHKEY_TEST_POSTGRES" -c "CREATE DATABASE $database"
database_url="${LATCHKEY_TEST_POSTGRES%/*}/$database"

rm -rf "$here/.data-proxy"
nodes=()
for n in 1 2; do
  node_port="$(free_port)"
  LATCHKEY_DATABASE_URL="$database_url" \
  LATCHKEY_DATA_DIR="$here/.data-proxy" \
  LATCHKEY_LISTEN="127.0.0.1:$node_port" \
  LATCHKEY_PUBLIC_URL="http://127.0.0.1:$port" \
  LATCHKEY_TRUST_FORWARDED_FOR=true \
  LATCHKEY_CONNECTIONS_PER_ADDRESS=0 \
  LATCHKEY_LOGINS_PER_ADDRESS_PER_MINUTE=0 \
  LATCHKEY_REGISTRATIONS_PER_ADDRESS_PER_HOUR=0 \
  LATCHKEY_SENDS_PER_ADDRESS_PER_HOUR=0 \
  LATCHKEY_PASSCODE_CHECKS_PER_ADDRESS_PER_HOUR=0 \
  LEPTOS_SITE_ROOT="$here/../target/site" \
    "$here/../target/release/latchkey" &
  pids+=("$!")
  nodes+=("127.0.0.1:$node_port")
done

user=""
[ "$(id -u)" -eq 0 ] && user="user root root;"
cat >"$work/nginx.conf" <<CONF
$user
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  upstream latchkey {
    server ${nodes[0]} max_fails=0;
    server ${nodes[1]} max_fails=0;
  }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://latchkey;
      proxy_http_version 1.1;
      proxy_set_header Host \$host:\$server_port;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      # Which node answered, so the test can see that both did.
      add_header X-Latchkey-Node \$upstream_addr always;
    }
  }
}
CONF
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -g 'daemon off;' &
pids+=("$!")
wait -n "${pids[@]}"
say "a node or nginx stopped"
exit 1
