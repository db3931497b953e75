"""JSONL documents streamed from an S3 prefix (or any S3-compatible store).

``s3://bucket/prefix/`` lists every ``*.jsonl`` object under the prefix (all
pages of ``list_objects_v2``, in key order) and reads each one chunk by chunk,
so an object of any size streams through in constant memory. Lines are split on
``\\n`` only and numbered like local files (``app.documents.read_jsonl_file``),
so an error says ``s3://bucket/key:LINE`` and points at the same line a local
copy would. Credentials come from boto3's standard chain; the endpoint from
``Settings.s3_endpoint_url`` (MinIO, moto, a VPC endpoint...).
"""

from __future__ import annotations

from typing import Any, Iterator

from app.documents import Document, LineError, parse_raw_line
from app.settings import Settings
from app.sources.errors import SourceError

#: Bytes per read from an object body.
READ_CHUNK_BYTES = 1 << 16
#: Object keys read as JSONL; other keys under the prefix (markers, manifests) are skipped.
JSONL_SUFFIX = ".jsonl"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` → ``("bucket", "some/prefix/")``."""
    if not uri.startswith("s3://"):
        raise SourceError(f"{uri}: not an s3:// URI")
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    if not bucket:
        raise SourceError(f"{uri}: no bucket name (expected s3://bucket/prefix/)")
    return bucket, prefix


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client: standard credential chain, configurable endpoint."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        config=Config(retries={"max_attempts": settings.s3_max_attempts, "mode": "standard"}),
    )


def read_s3_prefix(uri: str, settings: Settings, client: Any = None) -> Iterator[Document | LineError]:
    """Documents and line errors from every ``*.jsonl`` object under ``uri``."""
    bucket, prefix = parse_s3_uri(uri)
    client = client if client is not None else s3_client(settings)
    found = False
    for key in _list_keys(client, bucket, prefix, uri, settings.s3_list_page_size):
        found = True
        yield from _read_object(client, bucket, key)
    if not found:
        raise SourceError(f"{uri}: no *{JSONL_SUFFIX} objects under this prefix")


def _list_keys(client: Any, bucket: str, prefix: str, uri: str, page_size: int) -> Iterator[str]:
    """Keys of JSONL objects, every page of ``list_objects_v2``."""
    paginator = client.get_paginator("list_objects_v2")
    try:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}):
            for item in page.get("Contents", []):
                if item["Key"].endswith(JSONL_SUFFIX):
                    yield item["Key"]
    except Exception as exc:  # noqa: BLE001 - botocore's errors become one clear line
        raise _source_error(uri, "listing objects", exc) from exc


def _read_object(client: Any, bucket: str, key: str) -> Iterator[Document | LineError]:
    source = f"s3://{bucket}/{key}"
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
    except Exception as exc:  # noqa: BLE001
        raise _source_error(source, "opening the object", exc) from exc
    number = 0
    try:
        for raw in _split_lines(body.iter_chunks(READ_CHUNK_BYTES)):
            number += 1
            record = parse_raw_line(raw, source, number)
            if record is not None:
                yield record
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - a dropped connection mid-object
        raise _source_error(source, f"reading after line {number}", exc) from exc
    finally:
        body.close()


def _split_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Lines split on ``b"\\n"`` only, as a local file in binary mode is.

    botocore's ``iter_lines`` uses ``bytes.splitlines``, which also splits on a
    lone ``\\r`` and miscounts a ``\\r\\n`` that straddles two reads; line
    numbers must match the local reader's.
    """
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line + b"\n"
    if pending:
        yield pending


def _source_error(where: str, doing: str, exc: Exception) -> SourceError:
    """botocore errors as one line naming the bucket/key and the likely fix."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        hints = {
            "NoSuchBucket": "the bucket does not exist",
            "NoSuchKey": "the object disappeared while reading (rerun)",
            "AccessDenied": "access denied: check the credentials and the bucket policy",
            "403": "access denied: check the credentials and the bucket policy",
            "404": "the bucket does not exist",
            "InvalidAccessKeyId": "the access key is not known to this endpoint",
            "SignatureDoesNotMatch": "the secret key does not match the access key",
        }
        return SourceError(f"{where}: {doing} failed: {hints.get(code, f'{code}: {message}')}")
    if isinstance(exc, NoCredentialsError):
        return SourceError(f"{where}: no AWS credentials found (environment, profile or instance role)")
    if isinstance(exc, EndpointConnectionError):
        return SourceError(f"{where}: {doing} failed: cannot reach the S3 endpoint ({exc})")
    return SourceError(f"{where}: {doing} failed: {type(exc).__name__}: {exc}")
