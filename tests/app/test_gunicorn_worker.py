"""app.gunicorn_worker: a connection goes to a worker with a thread free."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.settings import PROJECT_ROOT

# Answers with the serving process's pid, slowly enough that all clients are in flight at once.
PID_APP = """
import os, time

def app(environ, start_response):
    time.sleep(0.2)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def serve(tmp_path: Path, worker_class: str) -> tuple[subprocess.Popen, int]:
    (tmp_path / "pid_app.py").write_text(PID_APP)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(PROJECT_ROOT)]))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--worker-class", worker_class, "--workers", "4", "--threads", "1",
         "--bind", f"127.0.0.1:{port}", "pid_app:app"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
    time.sleep(1.0)  # every worker booted and listening
    return server, port


def pids_per_client(port: int, clients: int = 4, requests: int = 5) -> list[set[str]]:
    """Each client's keep-alive connection: the pids that answered it."""
    start = threading.Barrier(clients)
    seen: list[set[str]] = [set() for _ in range(clients)]

    def client(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start.wait()
        for _ in range(requests):
            connection.request("GET", "/")
            seen[i].add(connection.getresponse().read().decode())
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen


def test_concurrent_keep_alive_clients_get_a_worker_each(tmp_path: Path) -> None:
    server, port = serve(tmp_path, "app.gunicorn_worker.BalancedThreadWorker")
    try:
        seen = pids_per_client(port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert all(len(pids) == 1 for pids in seen)  # a keep-alive connection stays with its worker
    assert len(set().union(*seen)) == 4, seen  # and no two clients share one
