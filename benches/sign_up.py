"""Signs up accounts login0 … login<n-1> with the benchmark password, a few at a time."""
import sys
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

base, count = sys.argv[1], int(sys.argv[2])


def sign_up(n: int) -> None:
    name = f"login{n}"
    body = urllib.parse.urlencode(
        {"username": name, "email_address": f"{name}@example.com",
         "password": "correct horse battery staple"}).encode()
    with urllib.request.urlopen(f"{base}/v2/auth/register", body, timeout=60) as answer:
        assert answer.status == 200, (name, answer.status)


with ThreadPoolExecutor(max_workers=8) as pool:
    list(pool.map(sign_up, range(count)))
