"""`make loadtest`: serve with the production gunicorn config, load it, check budgets.

Starts ``hybrid-search serve`` (gunicorn, ``app/gunicorn_conf.py``) on
127.0.0.1 on a free port, waits for ``/readyz``, runs Locust headless with a
bounded number of users for a bounded time, writes Locust's CSV and HTML
reports (plus the exact summary, a ``/metrics`` scrape and the server log)
under ``reports/loadtest/``, prints budget vs measured, and exits 1 on any
miss or error response. The server is always stopped.

Examples::

    python loadtests/run.py                       # sample corpus, 4 users, 60 s
    python loadtests/run.py --data-dir data-large --duration 60
    python loadtests/run.py --rerank --weights hybrid=1,page=0,explain=0,rerank=3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.settings import Settings, available_cores  # noqa: E402
from loadtests.workload import default_queries  # noqa: E402
from loadtests.budgets import check, load_budgets, passed, render_table, without_request_type  # noqa: E402

HOST = "127.0.0.1"  # never anything else: the machine is shared
#: The request type that asks for reranking (the locustfile's name for it).
RERANK_TYPE = "hybrid+rerank"
#: Route templates of the searches the users send (the service's API and the ``_search`` facade).
SEARCH_ROUTES = ("/v1/search", "/<target>/_search")
MAX_USERS = 8


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=4, help=f"concurrent Locust users (1-{MAX_USERS}, default 4)")
    parser.add_argument("--duration", default="60s", help="Locust run time, e.g. 45s or 2m (at most 5m)")
    parser.add_argument("--data-dir", type=Path, default=None, help="index data dir (default HYBRID_DATA_DIR / data)")
    parser.add_argument("--queries", type=Path, action="append", default=None,
                        help="query JSONL (repeatable; sample or BEIR layout); default: the sample queries and the shared BEIR ones")
    parser.add_argument("--personas", default="", help="extra callers for untagged queries: 'tenant:p1,p2;tenant2:p3'")
    parser.add_argument("--weights", default="", help="task weights, e.g. hybrid=6,page=2,explain=1,rerank=1,facade=1")
    parser.add_argument("--wait-ms", type=float, default=0.0, help="think time between a user's requests")
    parser.add_argument("--unseen-share", type=float, default=0.5,
                        help="share of requests asking a query never asked before (default 0.5; 0 = only the fixed queries)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the query stream (default 0)")
    parser.add_argument("--corpus", type=Path, default=ROOT / "sample_data" / "corpus.jsonl",
                        help="documents whose spans make the unseen queries (default: the sample corpus)")
    parser.add_argument("--rerank", action="store_true", help="serve with HYBRID_RERANK_ENABLED=true")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the config's)")
    parser.add_argument("--threads", type=int, default=None, help="gunicorn threads per worker")
    parser.add_argument("--profile", action="store_true", help="sample the workers with py-spy during the run")
    parser.add_argument("--budgets", type=Path, default=ROOT / "loadtests" / "budgets.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "loadtest")
    parser.add_argument("--ready-timeout", type=float, default=180.0, help="seconds to wait for /readyz")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= MAX_USERS:
        parser.error(f"--users must be between 1 and {MAX_USERS} (the cores are shared)")
    if _seconds(args.duration) > 300:
        parser.error("--duration must be at most 5m")
    if not 0.0 <= args.unseen_share <= 1.0:
        parser.error("--unseen-share must be within [0, 1]")
    return args


def _seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(duration[:-1]) * units[duration[-1]] if duration[-1] in units else float(duration)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    if args.data_dir:
        env["HYBRID_DATA_DIR"] = str(args.data_dir.resolve())
    if args.rerank:
        env["HYBRID_RERANK_ENABLED"] = "true"
    if args.workers:
        env["HYBRID_GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["HYBRID_GUNICORN_THREADS"] = str(args.threads)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the gunicorn config makes a fresh one
    env["HYBRID_METRICS_DIR"] = str((args.out / "metrics-mp").resolve())
    return env


def wait_ready(url: str, server: subprocess.Popen, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            last = exc.read().decode("utf-8", "replace")[:300]
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise RuntimeError(f"/readyz did not answer 200 within {timeout:.0f} s: {last}")


def stop(server: subprocess.Popen) -> None:
    """SIGTERM to gunicorn's master (graceful), then SIGKILL to its own group."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # the group we created with start_new_session
        server.wait(timeout=10)


def run_locust(args: argparse.Namespace, url: str, summary: Path) -> int:
    queries = args.queries or default_queries()
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
            "LOADTEST_QUERIES": os.pathsep.join(str(q.resolve()) for q in queries),
            "LOADTEST_PERSONAS": args.personas,
            "LOADTEST_WEIGHTS": args.weights,
            "LOADTEST_WAIT_MS": str(args.wait_ms),
            "LOADTEST_UNSEEN_SHARE": str(args.unseen_share),
            "LOADTEST_SEED": str(args.seed),
            "LOADTEST_CORPUS": str(args.corpus.resolve()),
            "LOADTEST_SUMMARY": str(summary),
        }
    )
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"),
        "--headless", "--users", str(args.users), "--spawn-rate", str(args.users), "--run-time", args.duration,
        "--host", url, "--csv", str(args.out / "locust"), "--html", str(args.out / "report.html"),
        "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING",
    ]
    with open(args.out / "locust.log", "wb") as log:
        return subprocess.run(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode


def start_profiler(args: argparse.Namespace, server: subprocess.Popen) -> subprocess.Popen | None:
    """py-spy on gunicorn's master and its workers, for the length of the run."""
    if not args.profile:
        return None
    command = [
        str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(server.pid), "--subprocesses",
        "--format", "raw", "--rate", "200", "--nonblocking", "--duration", str(int(_seconds(args.duration))),
        "--output", str(args.out / "profile.txt"),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(args.out / "py-spy.log", "wb"))


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of gunicorn's master and workers so far."""
    import psutil  # a Locust dependency

    master = psutil.Process(pid)
    total = 0.0
    for process in [master, *master.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def scrape_metrics(url: str, path: Path) -> None:
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
            path.write_bytes(response.read())
    except OSError as exc:
        print(f"warning: could not scrape /metrics: {exc}", file=sys.stderr)


def cache_hit_rate(metrics_path: Path) -> float | None:
    """The query-embedding cache's hit share over the run, from the scraped ``/metrics``."""
    counts: dict[str, float] = {}
    try:
        lines = metrics_path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("hybrid_query_embedding_cache_total{"):
            labels, _, value = line.rpartition(" ")
            result = labels.partition('result="')[2].partition('"')[0]
            counts[result] = counts.get(result, 0.0) + float(value)
    total = sum(counts.values())
    return counts.get("hit", 0.0) / total if total else None


def searches_per_worker(metrics_dir: Path) -> list[int]:
    """Searches each gunicorn worker answered, most first, from the workers'
    multiprocess counter files: shows when the Locust users' keep-alive
    connections piled onto a few workers while others idled."""
    from prometheus_client.mmap_dict import MmapedDict

    counts = []
    for path in sorted(metrics_dir.glob("counter_*.db")):
        values = MmapedDict(str(path), read_mode=True)
        try:
            counts.append(int(sum(
                value for key, value, _ in values.read_all_values()
                if (parsed := json.loads(key))[0] == "hybrid_http_requests" and parsed[2].get("endpoint") in SEARCH_ROUTES
            )))
        finally:
            values.close()
    return sorted(counts, reverse=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    budgets = load_budgets(args.budgets)
    if not (args.rerank or Settings.from_env().rerank_enabled):
        # Reranking ships off: a hybrid+rerank request would only time a degraded answer.
        args.weights = ",".join(filter(None, ["rerank=0", args.weights]))
        budgets = without_request_type(budgets, RERANK_TYPE)
        print(f"reranking is off in this configuration (the default): {RERANK_TYPE} requests and budgets are "
              "skipped; pass --rerank to serve with it on and check them")
    # The server refuses to start without a key; one per run, shared with Locust through the environment.
    os.environ.setdefault("HYBRID_JWT_SECRET", secrets.token_urlsafe(48))
    args.out.mkdir(parents=True, exist_ok=True)
    summary = args.out / "summary.json"
    summary.unlink(missing_ok=True)
    url = f"http://{HOST}:{free_port()}"
    serve = [sys.executable, "-m", "app.cli", "serve", "--bind", url.removeprefix("http://")]
    with open(args.out / "server.log", "wb") as log:
        server = subprocess.Popen(serve, env=server_env(args), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            ready = wait_ready(url, server, args.ready_timeout)
            print(f"serving {ready.get('index')} ({ready.get('chunks')} chunks, model {ready.get('model_version')}, "
                  f"reranker {ready.get('reranker')}) at {url}")
            load_before, cpu_before = os.getloadavg(), server_cpu_seconds(server.pid)
            client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            profiler = start_profiler(args, server)
            run_locust(args, url, summary)
            load_after, cpu_after = os.getloadavg(), server_cpu_seconds(server.pid)
            client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            scrape_metrics(url, args.out / "metrics.txt")
            if profiler is not None:
                profiler.wait(timeout=60)
        except RuntimeError as exc:
            print(f"load test aborted: {exc} (see {args.out / 'server.log'})", file=sys.stderr)
            return 2
        finally:
            stop(server)
    if not summary.is_file():
        print("load test produced no summary (did Locust start?)", file=sys.stderr)
        return 2
    measured = json.loads(summary.read_text())
    rows = check(budgets, measured)
    print(render_table(rows, measured))
    served = max(measured.get("total_count", 0), 1)
    server_ms = (cpu_after - cpu_before) * 1000 / served
    client_ms = ((client_after.ru_utime + client_after.ru_stime) - (client_before.ru_utime + client_before.ru_stime)) * 1000 / served
    cores = available_cores()
    print(f"\nCPU per request: server {server_ms:.2f} ms (all workers; {cores} cores → at most "
          f"~{cores * 1000 / server_ms:.0f} req/s if the cores were ours), Locust client {client_ms:.2f} ms")
    hit_rate = cache_hit_rate(args.out / "metrics.txt")
    shown_rate = "unknown" if hit_rate is None else f"{hit_rate:.1%}"
    print(f"query-vector cache hit rate: {shown_rate} (unseen share {args.unseen_share:g}: those always miss)")
    workers = searches_per_worker(args.out / "metrics-mp")
    print(f"searches per worker: {' / '.join(map(str, workers)) or 'unknown'} (a worker holds each keep-alive "
          "connection it accepts: users sharing a worker wait for each other)")
    print(f"machine load average (1 min) before/after: {load_before[0]:.1f} / {load_after[0]:.1f} on {cores} cores")
    if args.profile and (args.out / "profile.txt").is_file():
        from loadtests.profile import render

        print("\n" + render(args.out / "profile.txt"))
    print(f"\nreports: {args.out}/report.html, {args.out}/locust_stats.csv, {summary}")
    ok = passed(rows)
    print("PASS: every budget met, no errors" if ok else "FAIL: a budget was missed or a request failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
