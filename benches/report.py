"""Turns the figures benches/run recorded into BENCHMARKS.md."""
import os
import platform
import subprocess
import sys
import time

results_path, seconds = sys.argv[1], sys.argv[2]
figures = {}
with open(results_path) as results:
    for line in results:
        key, _, value = line.strip().partition("=")
        figures[key] = float(value) if value else float("nan")


def cpu_model() -> str:
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    with open("/proc/meminfo") as info:
        kib = int(info.readline().split()[1])
    return kib / 1024 / 1024


f = figures
# The pages benches/page_weight.mjs loads, by the key it records them under.
PAGES = [
    ("home", "/"),
    ("login", "/login"),
    ("register", "/register"),
    ("account", "/account (signed in)"),
    ("password", "/password (signed in)"),
    ("forgot_password", "/forgot/password"),
    ("reset_step", "/forgot/password?token=… (the last step)"),
    ("reset_link", "/reset-password?token=…"),
]
rows = [
    ("login throughput", f"{f['login_rps']:.1f} logins/s ÷ {f['argon2_rate']:.1f} raw argon2id verifications/s on 2 threads",
     f["login_rps"] / f["argon2_rate"], "≥ 0.9", f["login_rps"] / f["argon2_rate"] >= 0.9),
    ("memory under a login flood", f"peak RSS (VmHWM) with 256 concurrent logins, {f['flood_login_rps']:.1f} logins/s",
     f["peak_rss_kib"] / 1024, "≤ 64 MiB", f["peak_rss_kib"] / 1024 <= 64),
    ("other requests during a login flood", f"p99 of GET credits (4 connections, {f['credits_rps_during_flood']:.0f} req/s) while 256 logins run",
     f["credits_p99_ms_during_flood"], "≤ 50 ms", f["credits_p99_ms_during_flood"] <= 50),
    ("GET /v2/account/credits/available", f"{f['credits_rps']:.0f} req/s ({f['credits_cpu_us']:.0f} µs of server CPU each) ÷ {f['hello_rps']:.0f} req/s of GET /healthz (bare: outside the middleware, {f['hello_cpu_us']:.0f} µs); any routed request costs {f['routed_cpu_us']:.0f} µs ({f['routed_rps']:.0f} req/s of a JSON 404)",
     f["credits_rps"] / f["hello_rps"], "≥ 0.5", f["credits_rps"] / f["hello_rps"] >= 0.5),
    ("SSR page", f"GET /login {f['page_rps']:.0f} req/s ({f['page_cpu_us']:.0f} µs of server CPU each: a signed-out page kept in memory, its nonce stamped in) ÷ the same hello route",
     f["page_rps"] / f["hello_rps"], "≥ 0.25", f["page_rps"] / f["hello_rps"] >= 0.25),
    ("SSR page, rendered", f"GET /login?next=/account {f['page_rendered_rps']:.0f} req/s ({f['page_rendered_cpu_us']:.0f} µs of server CPU each: rendered for each request) ÷ the same hello route",
     f["page_rendered_rps"] / f["hello_rps"], "—", True),
    ("SSR page, signed in", f"GET /account {f['account_rps']:.0f} req/s ({f['account_cpu_us']:.0f} µs of server CPU each) ÷ the same hello route",
     f["account_rps"] / f["hello_rps"], "≥ 0.25", f["account_rps"] / f["hello_rps"] >= 0.25),
    ("OpenID Connect code exchanges", f"{f['code_per_second']:.0f} authorizations + code exchanges/s ({f['code_errors']:.0f} errors; RS256 id_token, ES256 access token, SQLite) ÷ {f['op_code_per_second']:.0f}/s of panva's oidc-provider (in-memory storage, one Node process) with the same driver",
     f["code_per_second"] / f["op_code_per_second"], "≥ 3", f["code_per_second"] / f["op_code_per_second"] >= 3),
    ("OpenID Connect refresh grants", f"{f['refresh_per_second']:.0f} rotating refreshes/s ({f['refresh_errors']:.0f} errors) ÷ {f['op_refresh_per_second']:.0f}/s of oidc-provider",
     f["refresh_per_second"] / f["op_refresh_per_second"], "≥ 3", f["refresh_per_second"] / f["op_refresh_per_second"] >= 3),
    ("OpenID Connect userinfo", f"{f['userinfo_rps']:.0f} req/s ({f['userinfo_cpu_us']:.0f} µs of server CPU each; the ES256 access token verified once then remembered, the grant read) ÷ the same hello route",
     f["userinfo_rps"] / f["hello_rps"], "≥ 0.5", f["userinfo_rps"] / f["hello_rps"] >= 0.5),
    ("console search, SQLite", f"p99 of {f['sqlite_searches']:.0f} searches (username and e-mail prefixes of 1 to 6 characters, phone numbers, ids; first and later pages) over {f['sqlite_accounts']:.0f} accounts, one at a time (p50 {f['sqlite_search_p50_ms']:.2f} ms), ms",
     f["sqlite_search_p99_ms"], "≤ 50 ms", f["sqlite_search_p99_ms"] <= 50),
    ("console search, PostgreSQL", f"the same searches over {f['pg_accounts']:.0f} accounts (p50 {f['pg_search_p50_ms']:.2f} ms), ms",
     f["pg_search_p99_ms"], "≤ 50 ms", f["pg_search_p99_ms"] <= 50),
    ("register under load", f"unique users, 64 connections, {f['register_rps']:.1f} sign-ups/s: errors",
     f["register_errors"], "0", f["register_errors"] == 0),
    ("WASM bundle", f"gzip -9 of the islands' main .wasm ({f['wasm_bytes'] / 1024:.0f} KiB raw; the reset page adds its sealing module), KiB",
     f["wasm_gzip_bytes"] / 1024, "≤ 150 KiB", f["wasm_gzip_bytes"] / 1024 <= 150),
    ("heaviest page", "most gzipped JS + WASM any page below downloads, KiB",
     max(f[f"page_{key}_gzip_bytes"] for key, _ in PAGES) / 1024, "≤ 150 KiB",
     max(f[f"page_{key}_gzip_bytes"] for key, _ in PAGES) / 1024 <= 150),
    ("start-up", "process start → first 200 on an existing database, median of 5, ms",
     f["startup_ms"], "≤ 100 ms", f["startup_ms"] <= 100),
]

print("# Benchmarks\n")
print("Written by `benches/run`; do not edit by hand. Targets are ratios or bounds")
print("measured in one run on one machine; nothing here is asserted by the tests.\n")
print(f"- When: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
print(f"- Machine: {os.cpu_count()} cores ({cpu_model()}), {memory_gib():.0f} GiB, {platform.system()} {platform.release()}")
try:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"- Commit: {commit}")
except OSError:
    pass
print(f"- Load: wrk (Debian) on 127.0.0.1, 2 threads, {seconds} s per run; the server and wrk share the 2 cores.")
print("- Server: `target/release/latchkey` from `cargo leptos build --release --split --precompress`, fresh database,")
print("  default settings except the per-address limits (off: every request comes from 127.0.0.1).\n")
print("| figure | how | measured | target | met |")
print("|---|---|---|---|---|")
for name, how, value, target, met in rows:
    verdict = "—" if target == "—" else ("yes" if met else "**no**")
    print(f"| {name} | {how} | {value:.2f} | {target} | {verdict} |")
print()
print("Errors: register %d, credits %d, account %d, login %d, flood %d (non-2xx answers and socket errors)." % (
    f["register_errors"], f["credits_errors"], f["account_errors"], f["login_errors"], f["flood_errors"]))

# What each page downloads: islands ship only the interactive parts.
print()
print("## Page weight")
print()
print("Each page loaded in Chromium with an empty cache; the JavaScript and WebAssembly it fetched,")
print("as sent (the server gzips them) and gzipped at level 9. Pages without an island fetch none.")
print(f"/login on an emulated 1.6 Mbit/s link with 150 ms round trips is interactive (its islands")
print(f"hydrated) after {f['login_interactive_slow_ms']:.0f} ms (median of 3).")
print()
print("| page | files | sent, KiB | gzip -9, KiB | ≤ 150 KiB |")
print("|---|---|---|---|---|")
for key, page in PAGES:
    gz = f[f"page_{key}_gzip_bytes"] / 1024
    print(f"| {page} | {f[f'page_{key}_files']:.0f} | {f[f'page_{key}_sent_bytes'] / 1024:.1f} | {gz:.1f} | {'yes' if gz <= 150 else '**no**'} |")

# The store on PostgreSQL: one node, and two behind nginx, beside the SQLite figures above.
backends = [
    ("register, 64 connections", "sign-ups/s", "register_rps"),
    ("login, 64 connections", "logins/s", "login_rps"),
    ("GET credits, 64 connections", "req/s", "credits_rps"),
    ("GET /account (signed in), 64 connections", "req/s", "account_rps"),
]
print()
print("## On PostgreSQL")
print()
print("The same runs on PostgreSQL 15 from Debian (a throwaway cluster on the same machine, at")
print("`SERIALIZABLE` isolation, `fsync` off as in the tests): one node, then two nodes behind nginx")
print("balancing round-robin (`end2end/proxy-cluster.sh`). All of it shares the 2 cores with wrk,")
print("so a second node adds no CPU here: the two-node figures show what the database and the proxy")
print("cost, not how far more machines go.")
print()
print("| figure | unit | SQLite | PostgreSQL, one node | PostgreSQL, two nodes + nginx |")
print("|---|---|---|---|---|")
for name, unit, key in backends:
    print(f"| {name} | {unit} | {f[key]:.1f} | {f['pg1_' + key]:.1f} | {f['pg2_' + key]:.1f} |")
print()
print("What limits a read on PostgreSQL: each is a round trip to the database server, whose")
print("processes share the two cores here. Per credits read, one node: Latchkey %.0f µs of CPU," % f["pg1_credits_node_cpu_us"])
print("PostgreSQL %.0f µs (on SQLite the whole read costs Latchkey %.0f µs, in its own process)." % (
    f["pg1_credits_postgres_cpu_us"], f["credits_cpu_us"]))
print()
print("Errors (PostgreSQL): one node register %d, credits %d, account %d, login %d; two nodes register %d, credits %d, account %d, login %d." % (
    f["pg1_register_errors"], f["pg1_credits_errors"], f["pg1_account_errors"], f["pg1_login_errors"],
    f["pg2_register_errors"], f["pg2_credits_errors"], f["pg2_account_errors"], f["pg2_login_errors"]))

# The comparison: the same runs against fastapi-users on the same machine, right after.
comparison = [
    ("register, 64 connections", "sign-ups/s", f["register_rps"], f["fu_register_rps"], True),
    ("login, 64 connections", "logins/s", f["login_rps"], f["fu_login_rps"], True),
    ("authenticated read (credits / users/me), 64 connections", "req/s", f["credits_rps"], f["fu_me_rps"], True),
    ("hello route, 64 connections", "req/s", f["hello_rps"], f["fu_hello_rps"], True),
    ("login flood, 256 connections", "logins/s", f["flood_login_rps"], f["fu_flood_login_rps"], True),
    ("authenticated reads answered during the flood (4 connections)", "req/s", f["credits_rps_during_flood"], f["fu_me_rps_during_flood"], True),
    ("p99 of those reads", "ms", f["credits_p99_ms_during_flood"], f["fu_me_p99_ms_during_flood"], False),
    ("peak RSS during the flood", "MiB", f["peak_rss_kib"] / 1024, f["fu_peak_rss_kib"] / 1024, False),
    ("start-up to first 200", "ms", f["startup_ms"], f["fu_startup_ms"], False),
]
print()
print("## Against fastapi-users")
print()
print("The same runs, right after, against fastapi-users 15.0.5 (uvicorn 0.54, two workers for the")
print("two cores, SQLAlchemy + aiosqlite in WAL mode, JWT bearer transport, argon2id at Latchkey's")
print("parameters; `benches/fastapi_users/app.py`). Its closest endpoints: `POST /auth/register`,")
print("`POST /auth/jwt/login`, `GET /users/me`. Its peak RSS is the sum over its three processes.")
print()
print("| figure | unit | Latchkey | fastapi-users | Latchkey's advantage |")
print("|---|---|---|---|---|")
unmeasured = False
for name, unit, ours, theirs, more_is_better in comparison:
    # wrk reports no latency when (almost) nothing completed: 0 is "not measured", not fast.
    if ours <= 0 or theirs <= 0:
        unmeasured = True
        shown = lambda v: f"{v:.1f}" if v > 0 else "n/a*"
        print(f"| {name} | {unit} | {shown(ours)} | {shown(theirs)} | — |")
        continue
    advantage = ours / theirs if more_is_better else theirs / ours
    print(f"| {name} | {unit} | {ours:.1f} | {theirs:.1f} | {advantage:.2f}× |")
if unmeasured:
    print()
    print("\\* wrk gave no latency: too few of those requests completed to measure one.")
print()
print("Errors (fastapi-users): register %d, users/me %d, login %d, flood %d." % (
    f["fu_register_errors"], f["fu_me_errors"], f["fu_login_errors"], f["fu_flood_errors"]))
print()
print("Commands: `benches/run [seconds]`; the raw argon2id reference alone:")
print("`RUSTFLAGS='--cfg erase_components' cargo bench --features ssr --bench argon2_rate -- 2 10`")
print("(the flag only lets it reuse the release build's compiled dependencies).")
