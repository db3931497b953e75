"""The cluster calls the OpenSearch backend is built from, with errors as ours.

:class:`Cluster` is the transport side (as opensearch-py separates transport
from API): each method is one cluster operation — a call, a count, a
point-in-time scan, a bulk write, a delete-by-query — that raises
:class:`~app.backends.base.BackendError` subclasses, never client exceptions.
The backend composes them into the :class:`~app.backends.base.SearchBackend`
interface.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterator, Mapping, Sequence

from opensearchpy import exceptions as os_exc
from opensearchpy import helpers

from app.backends import opensearch_queries as queries
from app.backends import opensearch_requests as req
from app.backends.base import BackendError, Chunk, WriteInProgress
from app.backends.opensearch_client import DEADLINE_PARAM, SEND_ONCE_PARAM, error_reason, translate
from app.backends.opensearch_versions import HYBRID_QUERY_SINCE, Release, UnsupportedByCluster, parse_release
from app.settings import Settings

log = logging.getLogger(__name__)

#: Reads of the task list for a job whose start went unanswered.
TASK_LOOKS = 3
#: Answers from a proxy in front of the cluster: the request may have reached it.
LOST_ANSWER_STATUSES = (502, 504)


class BulkFailed(BackendError):
    """Some bulk items failed; nothing is reported as success. ``failures``: doc id → reason."""

    def __init__(self, index: str, failures: Mapping[str, str]) -> None:
        self.failures = dict(failures)
        shown = ", ".join(f"{doc}: {why}" for doc, why in list(self.failures.items())[:5])
        more = f" (+{len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
        super().__init__(f"{len(self.failures)} document(s) failed to index into {index!r}: {shown}{more}")


class Cluster:
    """One opensearch-py client and the settings its calls are sized by."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._release: Release | None = None
        self._shard_counts: dict[str, int] = {}

    def release(self) -> Release:
        """The cluster's ``(major, minor)`` version, read once (``GET /``)."""
        if self._release is None:
            info = self.call("reading the cluster version", self.client.info)
            number = str((info or {}).get("version", {}).get("number", ""))
            try:
                self._release = parse_release(number)
            except ValueError:
                raise BackendError(f"the cluster did not say which OpenSearch version it runs (GET / gave {number!r})") from None
            if self._release < HYBRID_QUERY_SINCE:
                raise UnsupportedByCluster("the hybrid search backend", HYBRID_QUERY_SINCE, self._release)
        return self._release

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one client call, with transport errors as ours."""
        try:
            return fn(*args, **kwargs)
        except (os_exc.TransportError, os_exc.ConnectionError) as exc:
            raise translate(exc, what) from exc

    def get_or_none(self, what: str, fn: Any, **kwargs: Any) -> Any:
        """Like :meth:`call`, but a 404 is ``None`` (absent alias or template)."""
        try:
            return fn(**kwargs)
        except os_exc.NotFoundError:
            return None
        except (os_exc.TransportError, os_exc.ConnectionError) as exc:
            raise translate(exc, what) from exc

    def run_task(
        self, what: str, start: Callable[..., Any], params: Mapping[str, str], *, writes: str, find: str, **kwargs: Any
    ) -> dict[str, Any]:
        """Run a long job as a cluster task and wait for its result.

        The job is started once (``wait_for_completion=false``, never resent
        after a timeout, since the first request may have started it), then
        ``GET _tasks/<id>`` is polled with progress logged until it completes or
        ``opensearch_maintenance_timeout_s`` passes. If the start's answer was
        lost, the running task is found by ``find`` in its description. Anything
        but a completed task raises :class:`WriteInProgress` on ``writes``: the
        job may be writing it still. Returns the task's ``response``.
        """
        deadline = time.monotonic() + self.settings.opensearch_maintenance_timeout_s
        try:
            started = start(params={**params, "wait_for_completion": "false", SEND_ONCE_PARAM: True}, **kwargs)
            task_id = str(started["task"])
        except os_exc.ConnectionError as exc:  # includes timeouts: the answer was lost, the task may run
            task_id = self._find_task(what, find, writes, translate(exc, what))
        except os_exc.TransportError as exc:
            if exc.status_code not in LOST_ANSWER_STATUSES:
                raise translate(exc, what) from exc  # the cluster answered: it did not start the job
            task_id = self._find_task(what, find, writes, translate(exc, what))
        log.info("%s: cluster task %s", what, task_id)
        while True:
            try:
                status = self.call(f"checking task {task_id}", self.client.tasks.get, task_id=task_id)
            except BackendError as exc:
                raise WriteInProgress(f"{what}: lost track of task {task_id} ({exc}); it may still run", index=writes, task_id=task_id) from exc
            if status.get("completed"):
                if status.get("error"):
                    raise BackendError(f"{what} failed on the cluster (task {task_id}): {error_reason(status['error'])}")
                return dict(status.get("response") or {})
            progress = (status.get("task") or {}).get("status") or {}
            if "total" in progress:
                done = sum(int(progress.get(k, 0)) for k in ("created", "updated", "deleted", "version_conflicts"))
                log.info("%s: %d of %d documents", what, done, int(progress["total"]))
            if time.monotonic() >= deadline:
                raise WriteInProgress(
                    f"{what} still runs as task {task_id} after {self.settings.opensearch_maintenance_timeout_s:g} s "
                    f"(HYBRID_OPENSEARCH_MAINTENANCE_TIMEOUT_S); it continues on the cluster (GET _tasks/{task_id})",
                    index=writes, task_id=task_id,
                )
            time.sleep(self.settings.opensearch_task_poll_s)

    def _find_task(self, what: str, find: str, writes: str, cause: Exception) -> str:
        """The id of the running task whose description contains ``find`` (a few looks)."""
        for look in range(TASK_LOOKS):
            if look:
                time.sleep(self.settings.opensearch_task_poll_s)
            listed = self.call(f"{what}: listing tasks", self.client.tasks.list, params={"detailed": "true"})
            for node in (listed.get("nodes") or {}).values():
                for task_id, task in (node.get("tasks") or {}).items():
                    if find in str(task.get("description", "")):
                        return str(task_id)
        raise WriteInProgress(
            f"{what}: the request to start it failed ({cause}) and no task for it is visible; "
            "it may still have started, so it is not sent again",
            index=writes,
        ) from cause

    def msearch(self, searches: Mapping[str, tuple[dict[str, Any], dict[str, Any]]], deadline: float) -> dict[str, Any]:
        """One ``_msearch`` of ``searches`` (name → header, body) under the monotonic
        ``deadline``; the answer item of each name."""
        names = list(searches)
        response = self.call(
            "searching",
            self.client.msearch,
            body=queries.msearch_lines(searches[name] for name in names),
            params={DEADLINE_PARAM: max(0.001, deadline - time.monotonic())},
        )
        items = response.get("responses", [])
        if len(items) != len(names):
            raise BackendError(f"_msearch answered {len(items)} of {len(names)} legs")
        return dict(zip(names, items))

    def shard_count(self, index: str) -> int:
        """Primary shards of ``index``, read once per index (a count never changes)."""
        count = self._shard_counts.get(index)
        if count is None:
            found = self.call(
                f"reading the settings of {index}", self.client.indices.get_settings, index=index, name="index.number_of_shards"
            )
            count = max(int(s["settings"]["index"]["number_of_shards"]) for s in found.values())
            self._shard_counts[index] = count
        return count

    def count(self, index: str, query: Mapping[str, Any] | None = None) -> int:
        """Chunks in ``index`` (matching ``query``)."""
        body = {"query": dict(query)} if query is not None else None
        return int(self.call(f"counting {index}", self.client.count, index=index, body=body)["count"])

    def refresh(self, index: str) -> None:
        self.call(f"refreshing {index}", self.client.indices.refresh, index=index)

    def delete_by_query(self, index: str, body: Mapping[str, Any]) -> int:
        """Delete what ``body`` matches, refreshed, waiting for completion; returns how many."""
        response = self.call(
            f"deleting from {index}",
            self.client.delete_by_query,
            index=index,
            body=dict(body),
            params={"refresh": "true", "conflicts": "proceed", "wait_for_completion": "true"},
        )
        if response.get("failures"):
            raise BackendError(f"delete in {index!r} failed: {response['failures'][:3]}")
        return int(response.get("deleted", 0))

    def bulk_index(self, index: str, chunks: Sequence[Chunk], whole_documents: bool) -> None:
        """``streaming_bulk`` with 429 retries; any failed item raises :class:`BulkFailed`."""
        if not chunks:
            return
        doc_of = {c.chunk_id: c.doc_id for c in chunks}
        failures: dict[str, str] = {}
        try:
            for ok, item in helpers.streaming_bulk(
                self.client,
                req.index_actions(index, chunks, whole_documents),
                chunk_size=self.settings.opensearch_bulk_chunk_size,
                max_retries=self.settings.opensearch_max_retries,
                initial_backoff=self.settings.opensearch_retry_backoff_s,
                max_backoff=10,
                raise_on_error=False,
                yield_ok=False,
            ):
                if not ok:
                    ((_, result),) = item.items()
                    chunk_id = result.get("_id", "?")
                    why = result.get("error")
                    text = why.get("reason", why.get("type")) if isinstance(why, dict) else str(why)
                    failures.setdefault(doc_of.get(chunk_id, chunk_id), f"HTTP {result.get('status')} {text}")
        except (os_exc.TransportError, os_exc.ConnectionError) as exc:
            raise translate(exc, f"bulk indexing into {index}") from exc
        if failures:
            raise BulkFailed(index, failures)

    def scan(
        self,
        index: str,
        fields: Sequence[str] | None,
        *,
        query: Mapping[str, Any] | None = None,
        tiebreak: str = "_id",
    ) -> Iterator[dict[str, Any]]:
        """Every document of ``index`` via point-in-time + ``search_after``.

        Yields ``{"_id": ..., **_source}``. ``tiebreak`` must be unique per
        document; ``_id`` works everywhere, a keyword copy of it is cheaper on
        very large indexes.
        """
        keep_alive = self.settings.opensearch_scan_keep_alive
        page_size = self.settings.opensearch_scan_page_size
        pit = self.call(f"opening a point in time on {index}", self.client.create_pit, index=index, params={"keep_alive": keep_alive})
        pit_id = pit["pit_id"]
        try:
            after = None
            while True:
                body = req.scan_body(pit_id, keep_alive, page_size, fields, after, query, tiebreak)
                page = self.call(f"scanning {index}", self.client.search, body=body)
                pit_id = page.get("pit_id", pit_id)
                hits = page.get("hits", {}).get("hits", [])
                for hit in hits:
                    yield {"_id": hit["_id"], **hit.get("_source", {})}
                if len(hits) < page_size:
                    return
                after = hits[-1]["sort"]
        finally:
            try:
                self.client.delete_pit(body={"pit_id": [pit_id]})
            except (os_exc.TransportError, os_exc.ConnectionError) as exc:  # it expires anyway
                log.warning("could not close point in time on %s: %s", index, exc)
