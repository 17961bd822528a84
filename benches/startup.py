"""Start-up time: process start → first 200 from /healthz, on an existing database.

Usage: startup.py <port> <command …>, with the server's settings in the environment.
Prints the median of five starts in ms.
"""
import http.client
import statistics
import subprocess
import sys
import time

port, command = int(sys.argv[1]), sys.argv[2:]


def first_200_ms() -> float:
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return (time.perf_counter() - started) * 1000
            except OSError:
                pass
            if time.perf_counter() - started > 30:
                raise SystemExit("the server did not answer within 30 s")
            time.sleep(0.001)
    finally:
        server.terminate()
        server.wait()


print(f"{statistics.median(first_200_ms() for _ in range(5)):.1f}")
