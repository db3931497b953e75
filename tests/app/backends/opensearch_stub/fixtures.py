"""Fixtures for the OpenSearch tests: the spec, a stub cluster on a random port, a backend."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from app.backends.opensearch import OpenSearchBackend
from app.settings import Settings
from identity import TEST_JWT_SECRET
from opensearch_stub.server import StubCluster
from opensearch_stub.spec import ApiSpec, require_spec


@pytest.fixture(scope="session")
def api_spec() -> ApiSpec:
    """The API spec, loaded and closed once per session (~5 s)."""
    return ApiSpec(require_spec())


@pytest.fixture
def stub_version() -> str:
    """The OpenSearch release the stub answers as; a test overrides it with
    ``@pytest.mark.parametrize("stub_version", [...])``."""
    return "3.1.0"


@pytest.fixture
def stub(api_spec: ApiSpec, stub_version: str) -> Iterator[StubCluster]:
    """A fresh stub cluster; any request that broke the spec fails the test."""
    cluster = StubCluster(api_spec, version=stub_version)
    cluster.url = cluster.start()
    yield cluster
    cluster.stop()
    assert cluster.violations == [], "requests broke the OpenSearch API spec"


@pytest.fixture
def os_settings(stub: StubCluster, tmp_path: Path) -> Settings:
    return Settings(
        backend="opensearch",
        data_dir=tmp_path,
        jwt_secret=TEST_JWT_SECRET,
        opensearch_hosts=stub.url,
        opensearch_max_retries=2,
        opensearch_retry_backoff_s=0.01,
        opensearch_timeout_s=5.0,
        opensearch_alias_cache_s=0.0,
        opensearch_scan_page_size=3,
        opensearch_task_poll_s=0.01,
    )


@pytest.fixture
def backend(os_settings: Settings) -> OpenSearchBackend:
    return OpenSearchBackend(os_settings)
