"""The stub-cluster fixtures, for every OpenSearch test in this directory."""

from opensearch_stub.fixtures import api_spec, backend, os_settings, stub, stub_version  # noqa: F401 - fixtures
