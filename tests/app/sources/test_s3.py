"""The S3 source against a real local S3 server (moto in server mode), not mocked boto3 calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from botocore.exceptions import ClientError

from app.backends.embedded import EmbeddedBackend
from app.cli import main
from app.documents import Document, LineError, read_jsonl_file
from app.sources.s3 import _source_error, _split_lines, parse_s3_uri, read_s3_prefix, s3_client
from app.settings import Settings
from app.sources import SourceError

BUCKET = "docs-bucket"


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 and a random free port, for this module."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials through boto3's standard chain (environment), never a real profile."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3_settings(settings: Settings, s3_url: str) -> Settings:
    return settings.replace(s3_endpoint_url=s3_url, s3_list_page_size=2)


@pytest.fixture
def bucket(s3_settings: Settings) -> Iterator[object]:
    """An empty bucket, emptied and removed afterwards (the server lives for the module)."""
    client = s3_client(s3_settings)
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def put_docs(client: object, key: str, docs: list[dict], extra: bytes = b"") -> bytes:
    body = b"".join(json.dumps(d).encode() + b"\n" for d in docs) + extra
    client.put_object(Bucket=BUCKET, Key=key, Body=body)  # type: ignore[attr-defined]
    return body


def test_streams_every_object_under_the_prefix_with_local_line_numbers(
    bucket, s3_settings: Settings, tiny_docs: list[dict], tmp_path: Path
) -> None:
    # Five objects so the listing takes three pages of two; one non-JSONL key and one outside the prefix.
    bodies = {}
    for n in range(4):
        bodies[f"export/part-{n}.jsonl"] = put_docs(bucket, f"export/part-{n}.jsonl", tiny_docs[2 * n:2 * n + 2])
    odd = b'\xef\xbb\xbf' + json.dumps(tiny_docs[8]).encode() + b"\r\n\n" + b'{"id": "x", "title": "t"}\n' + b"\xff\xfe\n"
    bucket.put_object(Bucket=BUCKET, Key="export/z-odd.jsonl", Body=odd)
    bodies["export/z-odd.jsonl"] = odd
    bucket.put_object(Bucket=BUCKET, Key="export/_SUCCESS", Body=b"")
    put_docs(bucket, "other/part-0.jsonl", tiny_docs[:1])

    records = list(read_s3_prefix(f"s3://{BUCKET}/export/", s3_settings))

    docs = [r for r in records if isinstance(r, Document)]
    errors = [r for r in records if isinstance(r, LineError)]
    assert [d.id for d in docs] == [d["id"] for d in tiny_docs]
    assert [(e.source, e.line) for e in errors] == [
        (f"s3://{BUCKET}/export/z-odd.jsonl", 3), (f"s3://{BUCKET}/export/z-odd.jsonl", 4)
    ]
    assert "acl" in errors[0].messages and "_encoding" in errors[1].messages
    # Exactly what the local reader says about the same bytes.
    local = tmp_path / "z-odd.jsonl"
    local.write_bytes(odd)
    assert [(type(r), getattr(r, "line", None)) for r in read_jsonl_file(local)] == [
        (type(r), getattr(r, "line", None)) for r in records[-3:]
    ]


def test_split_lines_matches_a_binary_file_across_read_boundaries(tmp_path: Path) -> None:
    data = b'{"a": 1}\r\n\r\n{"b": 2}\r{"c"\n\nlast'
    path = tmp_path / "lines.jsonl"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        expected = list(handle)  # what read_jsonl_file numbers
    for size in range(1, len(data) + 1):
        chunks = (data[i:i + size] for i in range(0, len(data), size))
        assert list(_split_lines(chunks)) == expected


def test_clear_errors_for_missing_bucket_and_empty_prefix(bucket, s3_settings: Settings) -> None:
    with pytest.raises(SourceError, match=r"s3://no-such-bucket/x/: listing objects failed: the bucket does not exist"):
        list(read_s3_prefix("s3://no-such-bucket/x/", s3_settings))
    with pytest.raises(SourceError, match=r"s3://docs-bucket/empty/: no \*\.jsonl objects under this prefix"):
        list(read_s3_prefix(f"s3://{BUCKET}/empty/", s3_settings))
    with pytest.raises(SourceError, match="no bucket name"):
        parse_s3_uri("s3:///prefix/")


def test_access_denied_names_the_fix() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "ListObjectsV2")
    message = str(_source_error("s3://b/p/", "listing objects", denied))
    assert message == "s3://b/p/: listing objects failed: access denied: check the credentials and the bucket policy"


def test_unreachable_endpoint_is_one_clear_line(settings: Settings) -> None:
    dead = settings.replace(s3_endpoint_url="http://127.0.0.1:9", s3_max_attempts=1)
    with pytest.raises(SourceError, match=r"s3://b/p/: listing objects failed: cannot reach the S3 endpoint"):
        list(read_s3_prefix("s3://b/p/", dead))


def test_cli_ingest_from_s3_is_idempotent_and_fails_on_a_bad_line(
    bucket, s3_settings: Settings, tiny_docs: list[dict], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("HYBRID_DATA_DIR", str(s3_settings.data_dir))
    monkeypatch.setenv("HYBRID_MODEL_DIR", str(s3_settings.model_dir))
    monkeypatch.setenv("HYBRID_S3_ENDPOINT_URL", s3_settings.s3_endpoint_url)
    put_docs(bucket, "kb/a.jsonl", tiny_docs[:5])
    put_docs(bucket, "kb/b.jsonl", tiny_docs[5:], extra=b'{"id": "broken", "title": "no acl", "tenant": "acme"}\n')
    uri = f"s3://{BUCKET}/kb/"

    assert main(["ingest", uri]) == 1
    out, err = capsys.readouterr()
    assert f"s3://{BUCKET}/kb/b.jsonl:5: acl: Missing data for required field." in err
    assert "read 9, indexed 9" in out and "failed 1" in out
    backend = EmbeddedBackend(s3_settings)
    info = backend.index_info(backend.alias_target())
    assert info.documents == 9

    assert main(["ingest", uri]) == 1  # the bad line still fails; nothing is re-embedded
    out, _ = capsys.readouterr()
    assert "indexed 0" in out and "unchanged 9" in out

    put_docs(bucket, "kb/b.jsonl", tiny_docs[5:])
    assert main(["ingest", uri]) == 0
    assert "unchanged 9" in capsys.readouterr().out
    assert backend.index_info(backend.alias_target()).documents == 9

    assert main(["ingest", f"s3://{BUCKET}/missing/"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"hybrid-search ingest: error: s3://{BUCKET}/missing/: no *.jsonl objects under this prefix"
