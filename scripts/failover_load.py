"""The client of scripts/failover.sh: drives a write load at two Latchkey nodes behind HAProxy,
kills the PostgreSQL primary (its Patroni and its postmaster, SIGKILL) in the middle, keeps the
load going, and then checks what SPEC §16 promises. Every answer is recorded; what the
database holds afterwards is read with psql through HAProxy. Standard library only.

    python3 scripts/failover_load.py CONFIG.json

CONFIG names the nodes, the Patroni REST APIs and data directories, the database URL, the
mail sink's directory, the admin API token, and the run's seconds. Exits 1 when a promise
failed, printing each; prints the measured gap and the counts either way.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PASSWORD = "correct horse battery staple"


def request(method: str, url: str, body=None, token=None, timeout=15.0):
    """(status, parsed body or text); status 0 when no answer came at all."""
    data = None
    headers = {"Accept": "application/json"}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, method=method, headers=headers), timeout=timeout
        ) as answer:
            text = answer.read().decode()
            return answer.status, text
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except Exception as e:  # refused, reset, timed out: no answer
        return 0, str(e)


class Run:
    def __init__(self, config: dict):
        self.config = config
        self.nodes = config["nodes"]
        self.lock = threading.Lock()
        self.answers: list[dict] = []
        self.ready: list[tuple[float, int]] = []
        self.killed_at: float | None = None
        self.stop = threading.Event()
        self.next_name = 0
        self.accounts = config["accounts"]  # [{"id", "username", "email"}]
        self.reset_pool = list(self.accounts)
        random.shuffle(self.reset_pool)

    def record(self, op: str, key: str, status: int, started: float) -> None:
        with self.lock:
            self.answers.append({"op": op, "key": key, "status": status, "at": started})

    def node(self) -> str:
        return random.choice(self.nodes)

    def sign_up(self) -> None:
        with self.lock:
            self.next_name += 1
            name = f"fo{os.getpid()}x{self.next_name}"
        started = time.time()
        status, _ = request(
            "POST",
            self.node() + "/v2/auth/register",
            {"username": name, "password": PASSWORD, "email_address": f"{name}@example.com"},
        )
        self.record("signup", name, status, started)

    def grant(self) -> None:
        account = random.choice(self.accounts)
        started = time.time()
        status, _ = request(
            "POST",
            self.node() + f"/admin/api/users/{account['id']}/credits",
            {"reason": "failover run", "amount": 1},
            token=self.config["admin_token"],
        )
        self.record("grant", str(account["id"]), status, started)

    def reset(self) -> None:
        with self.lock:
            if not self.reset_pool:
                return
            account = self.reset_pool.pop()
        started = time.time()
        status, _ = request(
            "POST", self.node() + "/v2/forgot/password", {"email_address": account["email"]}
        )
        self.record("reset", account["email"], status, started)

    def login(self) -> None:
        account = random.choice(self.accounts)
        started = time.time()
        status, _ = request(
            "POST",
            self.node() + "/v2/auth/login",
            {"username": account["username"], "password": PASSWORD},
        )
        self.record("login", account["username"], status, started)

    def worker(self) -> None:
        ops = [self.sign_up] * 4 + [self.grant] * 4 + [self.reset] + [self.login]
        while not self.stop.is_set():
            random.choice(ops)()
            time.sleep(0.02)

    def readiness(self) -> None:
        while not self.stop.is_set():
            status, _ = request("GET", self.nodes[0] + "/readyz", timeout=3)
            with self.lock:
                self.ready.append((time.time(), status))
            time.sleep(0.25)

    def primary(self) -> dict:
        for member in self.config["members"]:
            status, _ = request("GET", member["rest"] + "/primary", timeout=2)
            if status == 200:
                return member
        raise SystemExit("no primary to kill")

    def kill_primary(self) -> str:
        member = self.primary()
        with open(member["data_dir"] + "/postmaster.pid") as f:
            postmaster = int(f.readline())
        patroni = int(open(member["pid_file"]).read().strip())
        self.killed_at = time.time()
        for pid in (patroni, postmaster):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return member["name"]


def totp(secret_base32: str, at: float) -> str:
    """RFC 6238 with Latchkey's settings (SHA-1, 6 digits, 30 s), as an authenticator app."""
    import base64, hashlib, hmac, struct

    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def set_up(config: dict) -> None:
    """Accounts to grant credits to and reset, and an admin with an API token (an
    authenticator over REST, then `latchkey admins grant` and `… admins token`)."""
    node = config["nodes"][0]
    accounts = []
    for i in range(config.get("accounts_count", 120)):
        name = f"base{i}"
        status, _ = request("POST", node + "/v2/auth/register",
                            {"username": name, "password": PASSWORD, "email_address": f"{name}@example.com"})
        assert status == 200, f"register {name}: {status}"
        accounts.append({"username": name, "email": f"{name}@example.com"})
    status, body = request("POST", node + "/v2/auth/register",
                           {"username": "operator", "password": PASSWORD, "email_address": "operator@example.com"})
    assert status == 200, body
    _, body = request("POST", node + "/v2/auth/login", {"username": "operator", "password": PASSWORD})
    token = json.loads(body)["token"]
    _, body = request("POST", node + "/v2/account/mfa/totp", {"password": PASSWORD}, token=token)
    uri = json.loads(body)["response"]["otpauth_uri"]
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    status, body = request("POST", node + "/v2/account/mfa/totp/confirm", {"code": totp(secret, time.time())}, token=token)
    assert status == 200, body
    env = dict(os.environ, **config["cli_env"])
    subprocess.run([config["binary"], "admins", "grant", "operator"], env=env, check=True, capture_output=True)
    made = subprocess.run([config["binary"], "admins", "token", "operator"], env=env, check=True,
                          capture_output=True, text=True)
    config["admin_token"] = made.stdout.strip()
    ids = dict(line.split("|") for line in psql(config["database_url"], "SELECT username, id FROM users"))
    for account in accounts:
        account["id"] = int(ids[account["username"]])
    config["accounts"] = accounts


def psql(url: str, sql: str) -> list[str]:
    out = subprocess.run(
        ["psql", url, "-At", "-c", sql], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if line]


def main() -> int:
    config = json.load(open(sys.argv[1]))
    set_up(config)
    run = Run(config)
    threads = [threading.Thread(target=run.worker) for _ in range(config.get("clients", 6))]
    threads.append(threading.Thread(target=run.readiness))
    for t in threads:
        t.start()
    time.sleep(config["kill_after"])
    killed = run.kill_primary()
    print(f"failover: killed the primary {killed} (Patroni and postmaster, SIGKILL)", flush=True)
    time.sleep(config["keep_going"])
    run.stop.set()
    for t in threads:
        t.join()

    failures: list[str] = []
    answers = run.answers
    killed_at = run.killed_at or 0
    writes_back = [
        a["at"] for a in answers if a["op"] in ("signup", "grant") and a["status"] == 200 and a["at"] > killed_at
    ]
    gap = (min(writes_back) - killed_at) if writes_back else float("inf")
    served_500 = [a for a in answers if a["status"] >= 500 and a["status"] != 503]
    if served_500:
        failures.append(f"{len(served_500)} answers were {sorted({a['status'] for a in served_500})}")
    if gap > 30:
        failures.append(f"writes did not succeed again within 30 s of the kill ({gap:.1f} s)")

    db = config["database_url"]
    users = set(psql(db, "SELECT username FROM users"))
    for a in answers:
        if a["op"] != "signup":
            continue
        if a["status"] == 200 and a["key"] not in users:
            failures.append(f"acknowledged sign-up {a['key']} is not in the database")
        if a["status"] not in (200, 503, 0) and a["key"] in users:
            failures.append(f"sign-up {a['key']} answered {a['status']} is in the database")
    credits = {
        line.split("|")[0]: int(line.split("|")[1])
        for line in psql(db, "SELECT id, credits_micro / 1000000 FROM users")
    }
    for account in run.accounts:
        key = str(account["id"])
        granted = [a for a in answers if a["op"] == "grant" and a["key"] == key]
        acknowledged = sum(1 for a in granted if a["status"] == 200)
        unknown = sum(1 for a in granted if a["status"] in (0, 503))
        held = credits.get(key, 0)
        if not acknowledged <= held <= acknowledged + unknown:
            failures.append(
                f"account {key}: {held} credits for {acknowledged} acknowledged grants "
                f"(and {unknown} unanswered or 503)"
            )

    # Mail: every acknowledged reset's mail arrived, and no message twice.
    deadline = time.time() + 90
    resets = [a for a in answers if a["op"] == "reset" and a["status"] == 200]
    while True:
        sink = config["mail_dir"]
        mails = [open(os.path.join(sink, n), "rb").read().decode(errors="replace") for n in os.listdir(sink) if n.endswith(".eml")]
        missing = [a["key"] for a in resets if not any(f"X-Sink-To: {a['key']}" in m and "passcode" in m for m in mails)]
        if not missing or time.time() > deadline:
            break
        time.sleep(1)
    if missing:
        failures.append(f"{len(missing)} acknowledged reset requests got no mail: {missing[:5]}")
    ids = [
        line.split(":", 1)[1].strip()
        for m in mails
        for line in m.splitlines()
        if line.lower().startswith("message-id:")
    ]
    doubles = len(ids) - len(set(ids))
    if doubles:
        failures.append(f"{doubles} messages were delivered twice")

    # Every answer of /readyz between the kill and the first write after it: some must be 503
    # (the database was away), and the last one of the run must be 200.
    ready_during = [s for t, s in run.ready if killed_at < t < killed_at + gap]
    ready_after = [s for t, s in run.ready if t > killed_at + gap + 5]
    if 503 not in ready_during:
        failures.append(f"/readyz never said 503 during the gap (it said {ready_during})")
    if not ready_after or ready_after[-1] != 200:
        failures.append("/readyz did not say 200 after the failover")

    by = lambda op, cond: sum(1 for a in answers if a["op"] == op and cond(a["status"]))
    print(
        f"failover: gap {gap:.1f} s from the kill to the first write acknowledged after it; "
        f"{len(answers)} requests: "
        + ", ".join(
            f"{op} {by(op, lambda s: s == 200)} ok / {by(op, lambda s: s == 503)} 503 / "
            f"{by(op, lambda s: s == 0)} unanswered / {by(op, lambda s: s not in (0, 200, 503))} other"
            for op in ("signup", "grant", "reset", "login")
        )
        + f"; {len(mails)} mails delivered, {doubles} twice; /readyz said "
        + f"{sum(1 for s in ready_during if s == 503)} x 503 of {len(ready_during)} during the gap, "
        + f"{ready_after[-1] if ready_after else 'nothing'} after",
        flush=True,
    )
    for failure in failures:
        print(f"failover: FAILED: {failure}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
