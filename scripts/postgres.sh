# A throwaway PostgreSQL cluster for the tests and benchmarks, from Debian's packages (installed
# when missing). Sourced; `postgres_start DIR` starts a cluster in DIR on a free loopback port
# and exports LATCHKEY_TEST_POSTGRES (a URL of its `postgres` database, from which each test
# makes a database of its own); `postgres_stop DIR` stops it. PostgreSQL refuses to run as
# root, so as root the cluster belongs to the `postgres` user.
#
# The cluster runs at SERIALIZABLE isolation, what PostgreSQL-compatible distributed engines
# (CockroachDB, YugabyteDB) default to: the store must retry what that isolation refuses.

postgres_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$dir" ]; then
    say "Installing PostgreSQL from Debian"
    debian_install postgresql
    dir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  echo "$dir"
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_cluster_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

postgres_start() {
  local dir="$1" bin port
  bin="$(postgres_bin)"
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  if ! as_cluster_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    return 1
  fi
  port="$(free_port)"
  # Sized for the test suites: many small databases, a few hundred connections at most. Little
  # write-ahead log is kept (each CREATE DATABASE logs its ~8 MB of catalogs): the cluster
  # lives in /tmp, and a machine short of disk must still hold a whole pass.
  as_cluster_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 \
        -c shared_buffers=64MB -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c wal_level=minimal -c max_wal_senders=0 \
        -c max_wal_size=128MB -c min_wal_size=32MB \
        -c default_transaction_isolation=serializable" \
    start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  export LATCHKEY_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
}

# The end of the cluster's log: what to read when tests on it failed (a crash, a full disk).
postgres_log_tail() {
  local dir="$1"
  [ -f "$dir/server.log" ] || return 0
  echo "--- the last lines of the test PostgreSQL cluster's log ---"
  grep -vE 'could not serialize|canceled on identification|^\s*(DETAIL|HINT|STATEMENT):' \
    "$dir/server.log" | tail -n 30
}

postgres_stop() {
  local dir="$1" bin
  bin="$(postgres_bin)"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_cluster_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
