"""Settings: environment variables, typed, with documented defaults."""

from __future__ import annotations

import os

from app.settings import WAITING_BACKEND_THREADS, Settings, available_cores


def test_batch_jobs_embed_on_every_core_and_serving_on_one() -> None:
    settings = Settings()
    assert settings.onnx_threads == 1
    assert settings.batch_onnx_threads == available_cores() == len(os.sched_getaffinity(0))


def test_batch_threads_come_from_the_environment() -> None:
    assert Settings.from_env({"HYBRID_BATCH_ONNX_THREADS": "3"}).batch_onnx_threads == 3


def test_the_reranker_runs_on_every_core_unless_told() -> None:
    assert Settings().rerank_onnx_threads == available_cores()
    assert Settings.from_env({"HYBRID_RERANK_ONNX_THREADS": "1"}).rerank_onnx_threads == 1


def test_gunicorn_serves_one_worker_per_core_single_threaded_on_the_embedded_backend() -> None:
    settings = Settings()
    assert settings.gunicorn_workers == available_cores()
    assert settings.serving_threads == 1


def test_workers_on_a_remote_cluster_get_threads_to_wait_with() -> None:
    assert Settings(backend="opensearch").serving_threads > 1
    assert Settings(backend="opensearch", gunicorn_threads=2).serving_threads == 2
    assert Settings.from_env({"HYBRID_GUNICORN_THREADS": "3"}).serving_threads == 3


def test_gunicorn_config_takes_its_shape_from_the_settings(tmp_path) -> None:
    import subprocess
    import sys

    script = "import app.gunicorn_conf as conf; print(conf.workers, conf.threads)"
    env = {**os.environ, "HYBRID_GUNICORN_WORKERS": "3", "HYBRID_BACKEND": "opensearch",
           "HYBRID_METRICS_DIR": str(tmp_path / "metrics"), "HYBRID_QUERY_CACHE_DIR": str(tmp_path / "cache")}
    shape = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert shape.stdout.split() == ["3", str(WAITING_BACKEND_THREADS)]


def test_a_containers_cpu_quota_caps_the_cores(tmp_path) -> None:
    from app.settings import cgroup_cpu_quota

    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_quota(v2) == 2 and available_cores(v2) == min(2, len(os.sched_getaffinity(0)))
    (v2 / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(v2) is None and available_cores(v2) == len(os.sched_getaffinity(0))

    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(v1) == 1 and available_cores(v1) == 1
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(v1) is None
    assert cgroup_cpu_quota(tmp_path / "none") is None
