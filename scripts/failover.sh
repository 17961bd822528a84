#!/usr/bin/env bash
# Kills the PostgreSQL primary under load and checks that Latchkey comes through (SPEC §16).
#
# Starts, on loopback and in a throwaway directory: one etcd; two PostgreSQL 15 nodes under
# Patroni with synchronous_mode (a commit waits for the standby, so the standby promoted has
# every acknowledged write); HAProxy routing to whichever node Patroni's REST API says is the
# primary (GET /primary); a mail sink on SMTP (scripts/smtp_sink.py); and two Latchkey release
# nodes on the database through HAProxy. scripts/failover_load.py then drives sign-ups,
# credit grants, reset requests and logins at both nodes, kills the primary's Patroni and
# postmaster with SIGKILL, keeps going, and checks every promise: no 500, every acknowledged
# write in the database, every acknowledged reset's mail delivered and none twice, /readyz
# 503 during the gap and 200 after, writes back within 30 s. It prints the gap and the counts.
#
#   scripts/failover.sh [runs, default 1]
# Installs Debian's patroni, etcd-server and haproxy where missing. Needs target/release/latchkey
# (the test command builds it first).
source "$(dirname "$0")/setup.sh"
source "$(dirname "$0")/postgres.sh"
cd "$ROOT"

ensure_failover_tools
bin="$(postgres_bin)"
binary="$ROOT/target/release/latchkey"
[ -x "$binary" ] || { echo "failover: build the release first (cargo leptos build --release)" >&2; exit 1; }

one_run() {
  local work pids=()
  work="$(mktemp -d /tmp/latchkey-failover.XXXXXX)"
  chmod 755 "$work"
  local etcd_port etcd_peer hap smtp
  etcd_port=$(free_port); etcd_peer=$(free_port); hap=$(free_port); smtp=$(free_port)
  local pg=() rest=() node=()
  for i in 1 2; do pg[$i]=$(free_port); rest[$i]=$(free_port); node[$i]=$(free_port); done

  stop_all() {
    # Patroni first (it would start PostgreSQL again), by its own pid: `runuser` in front of it
    # does not pass a signal on. Then the postmasters, which outlive their Patroni.
    for i in 1 2; do
      [ -f "$work/pg$i/patroni.pid" ] && kill -9 "$(cat "$work/pg$i/patroni.pid")" 2>/dev/null || true
    done
    for i in 1 2; do
      [ -f "$work/pg$i/data/postmaster.pid" ] && kill -9 "$(head -n 1 "$work/pg$i/data/postmaster.pid")" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
  }
  trap stop_all RETURN

  etcd --name failover --data-dir "$work/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "failover=http://127.0.0.1:$etcd_peer" >"$work/etcd.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$etcd_port/health" >/dev/null && break; sleep 0.1; done

  for i in 1 2; do
    mkdir -p "$work/pg$i"
    chown postgres: "$work/pg$i" 2>/dev/null || true
    # ttl 10 s, loop 2 s: a dead primary's lock expires within ten seconds, and the standby
    # takes over at its next loop. Synchronous mode: no acknowledged commit is lost.
    cat >"$work/pg$i.yml" <<EOF
scope: latchkey-failover
namespace: /latchkey/
name: pg$i
restapi:
  listen: 127.0.0.1:${rest[$i]}
  connect_address: 127.0.0.1:${rest[$i]}
etcd3:
  hosts: 127.0.0.1:$etcd_port
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        max_connections: 200
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 128MB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:${pg[$i]}
  connect_address: 127.0.0.1:${pg[$i]}
  data_dir: $work/pg$i/data
  bin_dir: $bin
  pgpass: $work/pg$i/pgpass
  authentication:
    replication:
      username: replicator
      password: replicator
    superuser:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: $work/pg$i
EOF
    chown postgres: "$work/pg$i.yml" 2>/dev/null || true
    as_cluster_owner bash -c "echo \$\$ >'$work/pg$i/patroni.pid'; exec patroni '$work/pg$i.yml'" \
      >"$work/pg$i.log" 2>&1 &
    pids+=($!)
    # The first node bootstraps the cluster before the second asks to replicate it.
    if [ "$i" -eq 1 ]; then
      for _ in $(seq 300); do curl -sf "http://127.0.0.1:${rest[1]}/primary" >/dev/null && break; sleep 0.2; done
    fi
  done
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:${rest[2]}/replica" >/dev/null && break; sleep 0.2
  done
  curl -sf "http://127.0.0.1:${rest[2]}/replica" >/dev/null || { tail -n 30 "$work"/pg*.log >&2; echo "failover: the standby did not start" >&2; return 1; }

  cat >"$work/haproxy.cfg" <<EOF
global
  maxconn 1000
defaults
  mode tcp
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 1s
listen primary
  bind 127.0.0.1:$hap
  option httpchk GET /primary
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
  server pg1 127.0.0.1:${pg[1]} maxconn 200 check port ${rest[1]}
  server pg2 127.0.0.1:${pg[2]} maxconn 200 check port ${rest[2]}
EOF
  "$(command -v haproxy || echo /usr/sbin/haproxy)" -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
  pids+=($!)
  local cluster="postgres://postgres@127.0.0.1:$hap"
  # Until HAProxy's first checks mark the standby down, it routes to both in turn: wait until
  # several connections in a row reach the primary.
  local in_a_row=0
  for _ in $(seq 200); do
    if [ "$(psql "$cluster/postgres" -Atqc "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]; then
      in_a_row=$((in_a_row + 1))
      [ "$in_a_row" -ge 6 ] && break
    else
      in_a_row=0
    fi
    sleep 0.1
  done
  psql "$cluster/postgres" -qc "CREATE DATABASE latchkey" >/dev/null || return 1

  python3 scripts/smtp_sink.py "$smtp" "$work/mail" >"$work/smtp.log" 2>&1 &
  pids+=($!)

  for i in 1 2; do
    mkdir -p "$work/node$i"
    LATCHKEY_DATABASE_URL="$cluster/latchkey" LATCHKEY_DATA_DIR="$work/node$i" \
      LATCHKEY_LISTEN="127.0.0.1:${node[$i]}" LATCHKEY_SMTP_URL="smtp://127.0.0.1:$smtp" \
      LATCHKEY_PUBLIC_URL="http://127.0.0.1:${node[1]}" LEPTOS_SITE_ROOT=target/site \
      LATCHKEY_LOGINS_PER_ADDRESS_PER_MINUTE=0 LATCHKEY_REGISTRATIONS_PER_ADDRESS_PER_HOUR=0 \
      LATCHKEY_SENDS_PER_ADDRESS_PER_HOUR=0 LATCHKEY_PASSCODE_CHECKS_PER_ADDRESS_PER_HOUR=0 \
      LATCHKEY_CONNECTIONS_PER_ADDRESS=0 LATCHKEY_HASH_WORKERS=1 LATCHKEY_OUTBOX_POLL_SECONDS=1 \
      "$binary" >"$work/node$i.log" 2>&1 &
    pids+=($!)
  done
  for i in 1 2; do
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:${node[$i]}/readyz" >/dev/null && break; sleep 0.1; done
  done

  cat >"$work/run.json" <<EOF
{
  "nodes": ["http://127.0.0.1:${node[1]}", "http://127.0.0.1:${node[2]}"],
  "members": [
    {"name": "pg1", "rest": "http://127.0.0.1:${rest[1]}", "data_dir": "$work/pg1/data", "pid_file": "$work/pg1/patroni.pid"},
    {"name": "pg2", "rest": "http://127.0.0.1:${rest[2]}", "data_dir": "$work/pg2/data", "pid_file": "$work/pg2/patroni.pid"}
  ],
  "database_url": "$cluster/latchkey",
  "binary": "$binary",
  "cli_env": {"LATCHKEY_DATABASE_URL": "$cluster/latchkey", "LATCHKEY_DATA_DIR": "$work/cli"},
  "mail_dir": "$work/mail",
  "clients": 6,
  "kill_after": 8,
  "keep_going": 30
}
EOF
  if ! python3 scripts/failover_load.py "$work/run.json"; then
    for log in node1 node2 pg1 pg2 haproxy; do
      echo "--- the last lines of $log.log ---" >&2
      tail -n 15 "$work/$log.log" >&2
    done
    return 1
  fi
}

runs="${1:-1}"
for run in $(seq "$runs"); do
  say "Failover run $run of $runs: Patroni, etcd, HAProxy; the primary killed under load"
  one_run || exit 1
done
