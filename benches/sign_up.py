"""Signs up accounts login0 … login<n-1> with the benchmark password, a few at a time.

Usage: sign_up.py <base URL> <n> [latchkey | fastapi-users]
"""
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

base, count = sys.argv[1], int(sys.argv[2])
server = sys.argv[3] if len(sys.argv) > 3 else "latchkey"
PASSWORD = "correct horse battery staple"


def request_for(name: str) -> urllib.request.Request:
    if server == "fastapi-users":
        body = json.dumps({"email": f"{name}@example.com", "password": PASSWORD}).encode()
        return urllib.request.Request(f"{base}/auth/register", body,
                                      {"Content-Type": "application/json"})
    body = urllib.parse.urlencode(
        {"username": name, "email_address": f"{name}@example.com", "password": PASSWORD}).encode()
    return urllib.request.Request(f"{base}/v2/auth/register", body)


def sign_up(n: int) -> None:
    # A server that fails a sign-up under load with a 5xx (fastapi-users on SQLite answers 500
    # "database is locked" now and then) is asked again: these accounts are set-up, not a
    # measurement.
    for attempt in range(5):
        try:
            with urllib.request.urlopen(request_for(f"login{n}"), timeout=60) as answer:
                assert answer.status in (200, 201), (n, answer.status)
                return
        except urllib.error.HTTPError as error:
            if error.code < 500 or attempt == 4:
                raise
            time.sleep(0.5)


with ThreadPoolExecutor(max_workers=8) as pool:
    list(pool.map(sign_up, range(count)))
