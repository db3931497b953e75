"""A tiny OpenSearch over real HTTP for tests: validates, then answers like the real one.

Every request is matched to its operation in the API spec; unknown paths,
unknown query parameters and bodies that break the (closed) request schema are
recorded in :attr:`StubCluster.violations` and answered 400, as OpenSearch
would. Valid requests run against a small in-memory model (templates applied on
index creation, strict mappings, aliases, bulk, a naive scorer, k-NN by cosine
with filters, hybrid fusion, point-in-time scans) and get responses shaped like
the recorded ones in the spec's ``tests/`` stories. Faults (a 429, a 503) are
injected with :meth:`StubCluster.fail`.
"""

from __future__ import annotations

import copy
import fnmatch
import gzip
import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlsplit

from opensearch_stub.spec import ApiSpec

SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
WORD = re.compile(r"[a-z0-9]+")


class HttpError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def error(status: int, kind: str, reason: str, **extra: Any) -> HttpError:
    """An error response shaped like OpenSearch's."""
    cause = {"type": kind, "reason": reason, **extra}
    return HttpError(status, {"error": {"root_cause": [cause], **cause}, "status": status})


def not_found(index: str) -> HttpError:
    return error(404, "index_not_found_exception", f"no such index [{index}]", index=index,
                 **{"resource.type": "index_or_alias", "resource.id": index, "index_uuid": "_na_"})


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    times: int


@dataclass
class Index:
    settings: dict[str, Any]
    mappings: dict[str, Any]
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)


class StubCluster:
    """The state and the request handling; :meth:`start` serves it on 127.0.0.1."""

    def __init__(self, spec: ApiSpec, version: str = "3.1.0") -> None:
        self.spec = spec
        #: The OpenSearch release this stub answers as (``GET /``), and whose rules it applies.
        self.version = version
        self.release = tuple(int(p) for p in version.split(".")[:2])
        self.templates: dict[str, dict[str, Any]] = {}
        self.indexes: dict[str, Index] = {}
        self.aliases: dict[str, set[str]] = {}
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.pits: dict[str, dict[str, dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self.delays: list[tuple[str, re.Pattern[str], float, bool]] = []
        #: Cluster tasks (``wait_for_completion=false``): id → state; a task does its work
        #: when it completes, after answering ``task_polls`` reads of ``GET _tasks/<id>`` as running.
        self.tasks: dict[str, dict[str, Any]] = {}
        self.task_polls = 0
        #: item id → statuses to answer on successive bulk attempts (e.g. [429]).
        self.item_faults: dict[str, list[int]] = {}
        #: ``_msearch`` item kind (``"knn"`` for a k-NN search, else ``"lexical"``) → the
        #: status it answers with (a leg failing alone), or ``"timed_out"`` /
        #: ``"shard_failure"`` for a partial answer.
        self.msearch_item_faults: dict[str, int | str] = {}
        #: Like :attr:`msearch_item_faults`, for the next ``_msearch`` only.
        self.msearch_item_faults_once: dict[str, int | str] = {}
        self.requests: list[dict[str, Any]] = []
        #: Deprecation warnings the requests would have drawn from a real cluster.
        self.deprecations: list[str] = []
        self.violations: list[str] = []
        self.lock = threading.RLock()
        self.server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------- serving
    def start(self) -> str:
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                status, body = cluster.handle(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
                data = b"" if self.command == "HEAD" else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except ConnectionError:  # the client timed out and left (slow())
                    pass

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def fail(self, method: str, path: str, status: int, body: Any = None, times: int = 1) -> None:
        """Answer the next ``times`` matching requests with ``status``."""
        body = body if body is not None else error(status, "stub_fault", f"injected {status}").body
        self.faults.append(Fault(method, re.compile(path), status, body, times))

    def slow(self, method: str, path: str, seconds: float, *, after: bool = False) -> None:
        """Answer every matching request ``seconds`` late (a long-running job); with
        ``after``, handle it first and delay only the answer (the work is done)."""
        self.delays.append((method, re.compile(path), seconds, after))

    def calls(self, method: str, pattern: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and re.search(pattern, r["path"])]

    # ------------------------------------------------------------ dispatch
    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(target)
        path, params = unquote(parts.path), dict(parse_qsl(parts.query, keep_blank_values=True))
        delays = [(s, after) for m, p, s, after in self.delays if m == method and p.search(path)]
        for seconds, after in delays:
            if not after:
                time.sleep(seconds)
        answer = self._handle(method, path, params, headers, raw)
        for seconds, after in delays:
            if after:
                time.sleep(seconds)
        return answer

    def _handle(self, method: str, path: str, params: dict[str, str], headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        with self.lock:
            record = {"method": method, "path": path, "params": params, "headers": headers, "body": None}
            self.requests.append(record)
            try:
                op = self.spec.operation(method, path)
                if op is None:
                    raise self._violation(error(400, "illegal_argument_exception", f"no handler found for uri [{path}] and method [{method}]"))
                unknown = set(params) - self.spec.query_params(op)
                if unknown:
                    raise self._violation(error(400, "illegal_argument_exception", f"request [{path}] contains unrecognized parameters: {sorted(unknown)}"))
                body = record["body"] = self._parse(raw, path)
                self._validate(op, path, body)
                for fault in self.faults:
                    if fault.times > 0 and fault.method == method and fault.path.search(path):
                        fault.times -= 1
                        return fault.status, fault.body
                route = self._route(op.template, method)
                return 200, route(path.strip("/").split("/"), params, body)
            except HttpError as exc:
                return exc.status, exc.body

    def _violation(self, exc: HttpError) -> HttpError:
        self.violations.append(exc.body["error"]["reason"] if isinstance(exc.body["error"], dict) else str(exc.body))
        return exc

    @staticmethod
    def _parse(raw: bytes, path: str) -> Any:
        if not raw.strip():
            return None
        text = raw.decode("utf-8")
        if path.endswith(("_bulk", "_msearch")):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text)

    def _validate(self, op: Any, path: str, body: Any) -> None:
        if body is None:
            return
        problems: list[str] = []
        if path.endswith("_msearch"):
            for i, line in enumerate(body):
                name = "MultisearchHeader" if i % 2 == 0 else "MultisearchBody"
                problems += [f"line {i}: {p}" for p in self.spec.errors(self.spec.schema("_core.msearch", name), line)]
        elif path.endswith("_bulk"):
            expect_source = False
            for i, line in enumerate(body):
                if not expect_source:
                    problems += [f"line {i}: {p}" for p in self.spec.errors(self.spec.schema("_core.bulk", "OperationContainer"), line)]
                    expect_source = next(iter(line), "") in ("index", "create", "update")
                else:
                    expect_source = False
        else:
            ref = self.spec.body_schema_ref(op)
            if ref is None:
                problems.append(f"{op.method} {op.template} takes no body")
            else:
                problems += self.spec.errors(ref, body)
        if problems:
            raise self._violation(error(400, "x_content_parse_exception", f"{op.method} {path}: " + "; ".join(problems)))

    def _route(self, template: str, method: str) -> Callable[[list[str], dict[str, str], Any], Any]:
        routes: dict[tuple[str, str], Callable[..., Any]] = {
            ("GET", "/"): self.info,
            ("PUT", "/_index_template/{name}"): self.put_template,
            ("GET", "/_index_template/{name}"): self.get_template,
            ("PUT", "/{index}"): self.create_index,
            ("DELETE", "/{index}"): self.delete_index,
            ("GET", "/{index}/_mapping"): self.get_mapping,
            ("GET", "/{index}/_settings/{name}"): self.get_settings,
            ("GET", "/_alias/{name}"): self.get_alias,
            ("POST", "/_aliases"): self.update_aliases,
            ("POST", "/_bulk"): self.bulk,
            ("PUT", "/_bulk"): self.bulk,
            ("POST", "/{index}/_bulk"): self.bulk,
            ("PUT", "/{index}/_bulk"): self.bulk,
            ("POST", "/{index}/_msearch"): self.msearch,
            ("POST", "/_msearch"): self.msearch,
            ("POST", "/{index}/_search"): self.search,
            ("POST", "/_search"): self.search,
            ("POST", "/{index}/_mget"): self.mget,
            ("POST", "/{index}/_count"): self.count,
            ("GET", "/{index}/_count"): self.count,
            ("POST", "/{index}/_refresh"): lambda *a: {"_shards": SHARDS},
            ("POST", "/{index}/_forcemerge"): self.forcemerge,
            ("POST", "/{index}/_delete_by_query"): self.delete_by_query,
            ("PUT", "/_search/pipeline/{id}"): self.put_pipeline,
            ("POST", "/{index}/_search/point_in_time"): self.create_pit,
            ("DELETE", "/_search/point_in_time"): self.delete_pit,
            ("POST", "/_reindex"): self.reindex,
            ("GET", "/_tasks/{task_id}"): self.get_task,
            ("GET", "/_tasks"): self.list_tasks,
        }
        if (method, template) not in routes:
            raise error(400, "stub_unsupported", f"the stub does not implement {method} {template}")
        return routes[(method, template)]

    # ------------------------------------------------------------ resolution
    def targets(self, expression: str, allow_missing: bool = False) -> list[str]:
        names: list[str] = []
        for part in expression.split(","):
            if any(ch in part for ch in "*?"):
                names += [n for n in sorted(self.indexes) if fnmatch.fnmatchcase(n, part)]
            elif part in self.indexes:
                names.append(part)
            elif part in self.aliases:
                names += sorted(self.aliases[part])
            elif not allow_missing:
                raise not_found(part)
        return names

    def info(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        return {
            "name": "stub-node",
            "cluster_name": "stub",
            "cluster_uuid": "stub-uuid",
            "version": {"distribution": "opensearch", "number": self.version, "lucene_version": "9.12.1"},
            "tagline": "The OpenSearch Project: https://opensearch.org/",
        }

    # ------------------------------------------------------------ templates and indexes
    def put_template(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        stored = copy.deepcopy(body)
        # ComposableIndexTemplate keeps an empty component list for a template stored
        # without one, and GET echoes it as "composed_of": [].
        stored.setdefault("composed_of", [])
        self.templates[parts[1]] = stored
        return {"acknowledged": True}

    def get_template(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        found = [n for n in sorted(self.templates) if fnmatch.fnmatchcase(n, parts[1])]
        if not found:
            raise error(404, "resource_not_found_exception", f"index template matching [{parts[1]}] not found")
        out = []
        for name in found:
            template = copy.deepcopy(self.templates[name])
            inner = template.get("template", {})
            if "settings" in inner:  # the cluster answers settings flattened, as strings
                inner["settings"] = {"index": _stringified(_flat(inner["settings"], strip_index=True))}
            out.append({"name": name, "index_template": template})
        return {"index_templates": out}

    def create_index(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        name = parts[0]
        if name in self.indexes or name in self.aliases:
            raise error(400, "resource_already_exists_exception", f"index [{name}/abc] already exists", index=name)
        self._new_index(name, body or {})
        return {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _new_index(self, name: str, body: dict[str, Any]) -> Index:
        matching = [t for t in self.templates.values() if any(fnmatch.fnmatchcase(name, p) for p in t["index_patterns"])]
        base = max(matching, key=lambda t: t.get("priority", 0))["template"] if matching else {}
        mappings = copy.deepcopy(base.get("mappings", {}))
        own = body.get("mappings", {})
        for key, value in own.items():
            if key == "properties":
                mappings.setdefault("properties", {}).update(copy.deepcopy(value))
            else:
                mappings[key] = copy.deepcopy(value)
        settings = _flat(base.get("settings", {}), strip_index=True) | _flat(body.get("settings", {}), strip_index=True)
        for key, spec in mappings.get("properties", {}).items():
            method = spec.get("method", {}) if spec.get("type") == "knn_vector" else {}
            if method.get("engine") == "faiss" and method.get("space_type") == "cosinesimil" and self.release < (2, 19):
                # k-NN adds cosinesimil to faiss's supported spaces in 2.19 (KNNEngine/SpaceType at 2.19.0.0).
                raise error(400, "mapper_parsing_exception", "Failed to parse mapping [_doc]: Validation Failed: 1: space type [cosinesimil] is not supported with [faiss] engine;")
        self.indexes[name] = Index(settings=settings, mappings=mappings)
        return self.indexes[name]

    def get_settings(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        out = {}
        for name in self.targets(parts[0]):
            settings = {"number_of_shards": 1, "number_of_replicas": 1} | self.indexes[name].settings
            chosen = {k: v for k, v in settings.items() if fnmatch.fnmatchcase(f"index.{k}", parts[2]) or fnmatch.fnmatchcase(k, parts[2])}
            out[name] = {"settings": {"index": _stringified(chosen)}}  # nested under "index", values as strings
        return out

    def delete_index(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        for name in self.targets(parts[0]):
            del self.indexes[name]
            for holders in self.aliases.values():
                holders.discard(name)
        return {"acknowledged": True}

    def get_mapping(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        names = self.targets(parts[0], allow_missing=params.get("allow_no_indices") == "true")
        return {n: {"mappings": copy.deepcopy(self.indexes[n].mappings)} for n in names}

    def get_alias(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        holders = sorted(self.aliases.get(parts[1], set()))
        if not holders:
            raise HttpError(404, {"error": f"alias [{parts[1]}] missing", "status": 404})
        return {n: {"aliases": {parts[1]: {}}} for n in holders}

    def update_aliases(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        staged = copy.deepcopy(self.aliases)
        for action in body["actions"]:
            ((kind, spec),) = action.items()
            for name in self.targets(spec["index"]):
                if kind == "add":
                    if spec["alias"] in self.indexes:
                        raise error(400, "invalid_alias_name_exception", f"an index exists with the same name as the alias [{spec['alias']}]")
                    staged.setdefault(spec["alias"], set()).add(name)
                elif kind == "remove":
                    if name not in staged.get(spec["alias"], set()):
                        raise error(404, "aliases_not_found_exception", f"aliases [{spec['alias']}] missing")
                    staged[spec["alias"]].discard(name)
        self.aliases = {k: v for k, v in staged.items() if v}  # all or nothing
        return {"acknowledged": True}

    def put_pipeline(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        for processor in body.get("phase_results_processors", []):
            if "score-ranker-processor" in processor:
                if self.release < (2, 19):
                    # neural-search registers the score ranker from 2.19 (docs: "Introduced 2.19").
                    raise error(400, "parse_exception", "No processor type exists with name [score-ranker-processor]")
                self._rrf_parameters(processor["score-ranker-processor"]["combination"])
            weights = processor.get("normalization-processor", {}).get("combination", {}).get("parameters", {}).get("weights")
            if weights is not None:
                _validate_weights(weights)
        self.pipelines[parts[2]] = body
        return {"acknowledged": True}

    def _rrf_parameters(self, combination: dict[str, Any]) -> tuple[int, list[float] | None]:
        """(rank constant, weights) a score ranker of this release runs with.

        RRFProcessorFactory (neural-search 2.19.0.0–3.0.0.0) reads the rank
        constant from ``combination.parameters`` only; from 3.1.0.0 it reads
        ``combination.rank_constant`` and hands ``parameters`` to
        RRFScoreCombinationTechnique, which accepts only ``weights``
        (validated like the normalization processor's).
        """
        parameters = combination.get("parameters", {})
        if self.release < (3, 1):
            return parameters.get("rank_constant", 60), None
        unsupported = set(parameters) - {"weights"}
        if unsupported:
            raise error(400, "illegal_argument_exception", "provided parameter for combination technique is not supported. supported parameters are [weights]")
        weights = parameters.get("weights")
        if weights is not None:
            _validate_weights(weights)
        return combination.get("rank_constant", 60), weights

    # ------------------------------------------------------------ documents
    def bulk(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        items, lines = [], iter(body)
        default_index = parts[0] if parts[0] != "_bulk" else None
        for action in lines:
            ((kind, meta),) = action.items()
            index_name = meta.get("_index", default_index)
            doc_id = meta.get("_id") or uuid.uuid4().hex
            source = next(lines) if kind in ("index", "create", "update") else None
            result = {"_index": index_name, "_id": doc_id}
            injected = self.item_faults.get(doc_id)
            if injected:
                status = injected.pop(0)
                items.append({kind: result | {"status": status, "error": {"type": "es_rejected_execution_exception" if status == 429 else "stub_fault", "reason": f"injected {status}"}}})
                continue
            try:
                if index_name not in self.indexes:
                    if index_name in self.aliases:
                        (index_name,) = self.aliases[index_name]
                    else:
                        self._new_index(index_name, {})
                index = self.indexes[index_name]
                if kind == "delete":
                    existed = index.docs.pop(doc_id, None) is not None
                    items.append({kind: result | {"result": "deleted" if existed else "not_found", "status": 200 if existed else 404, "_version": 1, "_shards": SHARDS}})
                    continue
                self._check_document(index, source)
                existed = doc_id in index.docs
                index.docs[doc_id] = copy.deepcopy(source)
                items.append({kind: result | {"result": "updated" if existed else "created", "status": 200 if existed else 201, "_version": 1, "_seq_no": 0, "_primary_term": 1, "_shards": SHARDS}})
            except HttpError as exc:
                items.append({kind: result | {"status": exc.status, "error": exc.body["error"]["root_cause"][0]}})
        return {"took": 1, "errors": any("error" in next(iter(i.values())) for i in items), "items": items}

    @staticmethod
    def _check_document(index: Index, source: dict[str, Any]) -> None:
        """Strict mapping and vector size, as the real mapper would."""
        props = index.mappings.get("properties", {})
        if index.mappings.get("dynamic") == "strict":
            for key in source:
                if key not in props:
                    raise error(400, "strict_dynamic_mapping_exception", f"mapping set to strict, dynamic introduction of [{key}] within [_doc] is not allowed")
        for key, spec in props.items():
            if spec.get("type") == "knn_vector" and key in source and len(source[key]) != spec["dimension"]:
                raise error(400, "mapper_parsing_exception", f"Vector dimension mismatch. Expected: {spec['dimension']}, Given: {len(source[key])}")

    def mget(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        names = self.targets(parts[0])
        docs = []
        for doc_id in body["ids"]:
            for name in names:
                if doc_id in self.indexes[name].docs:
                    source = _exclude(self.indexes[name].docs[doc_id], params.get("_source_excludes", ""))
                    docs.append({"_index": name, "_id": doc_id, "_version": 1, "_seq_no": 0, "_primary_term": 1, "found": True, "_source": source})
                    break
            else:
                docs.append({"_index": names[0] if names else parts[0], "_id": doc_id, "found": False})
        return {"docs": docs}

    def count(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        query = (body or {}).get("query", {"match_all": {}})
        n = sum(1 for name in self.targets(parts[0]) for doc in self.indexes[name].docs.values() if self._match(query, doc)[0])
        return {"count": n, "_shards": SHARDS}

    def forcemerge(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        names = self.targets(parts[0])  # 404 for a missing index, as OpenSearch answers
        if params.get("wait_for_completion") == "false":
            # ForceMergeRequest.getDescription: "Force-merge indices [names], maxSegments[..]..."
            return self._start_task("indices:admin/forcemerge", f"Force-merge indices [{', '.join(names)}], maxSegments[{params.get('max_num_segments', -1)}]", lambda: {"_shards": SHARDS})
        return {"_shards": SHARDS}

    def delete_by_query(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        deleted = 0
        for name in self.targets(parts[0]):
            docs = self.indexes[name].docs
            for doc_id in [i for i, d in docs.items() if self._match(body["query"], d, doc_id=i)[0]]:
                del docs[doc_id]
                deleted += 1
        return _task_summary(deleted=deleted, total=deleted)

    def reindex(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        if params.get("wait_for_completion") == "false":
            # ReindexRequest.getDescription: "reindex from [source] to [dest]".
            description = f"reindex from [{body['source']['index']}] to [{body['dest']['index']}]"
            return self._start_task("indices:data/write/reindex", description, lambda: self._copy(body))
        return self._copy(body)

    def _copy(self, body: Any) -> Any:
        dest = self.indexes.get(body["dest"]["index"]) or self._new_index(body["dest"]["index"], {})
        created, failures = 0, []
        for name in self.targets(body["source"]["index"]):
            for doc_id, doc in self.indexes[name].docs.items():
                if doc_id in dest.docs and body["dest"].get("op_type") == "create":
                    failures.append({"index": body["dest"]["index"], "id": doc_id, "cause": {"type": "version_conflict_engine_exception"}, "status": 409})
                    continue
                dest.docs[doc_id] = copy.deepcopy(doc)
                created += 1
        return _task_summary(created=created, total=created + len(failures), failures=failures)

    # ------------------------------------------------------------ tasks
    def _start_task(self, action: str, description: str, work: Callable[[], Any]) -> Any:
        task_id = f"stub-node:{len(self.tasks) + 1}"
        self.tasks[task_id] = {"action": action, "description": description, "work": work, "polls": self.task_polls, "response": None}
        return {"task": task_id}

    def _task_info(self, task_id: str, task: dict[str, Any]) -> dict[str, Any]:
        node, number = task_id.split(":")
        return {
            "node": node, "id": int(number), "type": "transport", "action": task["action"],
            "status": {"total": 0, "updated": 0, "created": 0, "deleted": 0, "batches": 0, "version_conflicts": 0,
                       "noops": 0, "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
                       "requests_per_second": -1.0, "throttled_until_millis": 0},
            "description": task["description"], "start_time_in_millis": 1, "running_time_in_nanos": 1,
            "cancellable": True, "cancelled": False, "headers": {},
        }

    def get_task(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        task = self.tasks.get(parts[1])
        if task is None:
            raise error(404, "resource_not_found_exception", f"task [{parts[1]}] isn't running and hasn't stored its results")
        if task["response"] is None and task["polls"] > 0:
            task["polls"] -= 1
            return {"completed": False, "task": self._task_info(parts[1], task)}
        if task["response"] is None:
            task["response"] = task["work"]()
        return {"completed": True, "task": self._task_info(parts[1], task), "response": task["response"]}

    def list_tasks(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        running = {tid: self._task_info(tid, t) for tid, t in self.tasks.items() if t["response"] is None}
        return {"nodes": {"stub-node": {"name": "stub-node", "tasks": running}}} if running else {"nodes": {}}

    # ------------------------------------------------------------ search
    def create_pit(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        pit_id = uuid.uuid4().hex
        self.pits[pit_id] = {f"{n}\x00{i}": copy.deepcopy(d) for n in self.targets(parts[0]) for i, d in self.indexes[n].docs.items()}
        return {"pit_id": pit_id, "_shards": SHARDS, "creation_time": 1}

    def delete_pit(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        return {"pits": [{"pit_id": p, "successful": self.pits.pop(p, None) is not None} for p in body["pit_id"]]}

    def msearch(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        responses = []
        once, self.msearch_item_faults_once = self.msearch_item_faults_once, {}
        for header, search in zip(body[::2], body[1::2]):
            kind = "knn" if "knn" in search.get("query", {}) else "lexical"
            fault = once.get(kind, self.msearch_item_faults.get(kind))
            if isinstance(fault, int):
                kind = "es_rejected_execution_exception" if fault == 429 else "stub_fault"
                responses.append({"error": error(fault, kind, f"injected {fault}").body["error"], "status": fault})
                continue
            try:
                answer = self._search(header.get("index", parts[0]), search, {}) | {"status": 200}
            except HttpError as exc:
                responses.append({"error": exc.body["error"], "status": exc.status})
                continue
            if fault == "timed_out":
                answer["timed_out"] = True
            elif fault == "shard_failure":
                answer["_shards"] = {"total": 2, "successful": 1, "skipped": 0, "failed": 1}
            responses.append(answer)
        return {"took": 1, "responses": responses}

    def search(self, parts: list[str], params: dict[str, str], body: Any) -> Any:
        return self._search(parts[0] if parts[0] != "_search" else None, body or {}, params)

    def _search(self, target: str | None, body: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        if "pit" in body:
            if body["pit"]["id"] not in self.pits:
                raise error(404, "search_context_missing_exception", "No search context found")
            pool = [(key.split("\x00")[0], key.split("\x00")[1], doc) for key, doc in self.pits[body["pit"]["id"]].items()]
        else:
            pool = [(n, i, d) for n in self.targets(target or "*") for i, d in self.indexes[n].docs.items()]
        query = body.get("query", {"match_all": {}})
        size = body.get("size", 10)
        if "knn" in query:
            scored = self._knn(query["knn"], pool)
        elif "hybrid" in query:
            scored = self._hybrid(query["hybrid"], pool, params.get("search_pipeline"))
        else:
            scored = [(s, n, i, d) for n, i, d in pool for ok, s in [self._match(query, d, doc_id=i)] if ok]
            scored.sort(key=lambda t: (-t[0], t[2]))
        hits = []
        if "sort" in body:
            ((field_name, _),) = body["sort"][0].items()
            if field_name == "_id":
                # Sorting on _id loads fielddata for it, deprecated (a warning header on 2.x).
                self.deprecations.append("Loading the fielddata on the _id field is deprecated")
            scored.sort(key=lambda t: t[2] if field_name == "_id" else t[3].get(field_name))
            after = body.get("search_after")
            if after is not None:
                scored = [t for t in scored if (t[2] if field_name == "_id" else t[3].get(field_name)) > after[0]]
        for score, name, doc_id, doc in scored[:size]:
            hit = {"_index": name, "_id": doc_id, "_score": None if "sort" in body else score, "_source": _source(doc, body.get("_source", True))}
            if "sort" in body:
                hit["sort"] = [doc_id if field_name == "_id" else doc.get(field_name)]
            hits.append(hit)
        response = {
            "took": 1,
            "timed_out": False,
            "_shards": SHARDS,
            "hits": {"total": {"value": len(scored), "relation": "eq"}, "max_score": max((h["_score"] or 0 for h in hits), default=None), "hits": hits},
        }
        if "pit" in body:
            response["pit_id"] = body["pit"]["id"]
        return response

    def _knn(self, knn: dict[str, Any], pool: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[float, str, str, dict[str, Any]]]:
        ((field_name, spec),) = knn.items()
        if "method_parameters" in spec and self.release < (2, 16):
            # KNNQueryBuilderParser declares method_parameters from k-NN 2.16.
            raise error(400, "parsing_exception", "[knn] unknown field [method_parameters]")
        query = spec["vector"]
        out = []
        for name, doc_id, doc in pool:
            if "filter" in spec and not self._match(spec["filter"], doc, doc_id=doc_id)[0]:
                continue  # efficient filtering: filtered before top-k
            vector = doc.get(field_name)
            cos = sum(a * b for a, b in zip(query, vector)) / (math.sqrt(sum(a * a for a in query)) * math.sqrt(sum(b * b for b in vector)) or 1.0)
            out.append(((1 + cos) / 2, name, doc_id, doc))
        out.sort(key=lambda t: (-t[0], t[2]))
        return out[: spec["k"]]

    def _hybrid(self, hybrid: dict[str, Any], pool: list, pipeline_id: str | None) -> list:
        if "pagination_depth" in hybrid and self.release < (2, 19):
            # HybridQueryBuilder.fromXContent parses pagination_depth from 2.19 on.
            raise error(400, "parsing_exception", "[hybrid] query does not support [pagination_depth]")
        if pipeline_id not in self.pipelines:
            raise error(400, "illegal_argument_exception", f"Pipeline {pipeline_id} is not defined")
        runs = []
        for sub in hybrid["queries"]:
            if "knn" in sub:
                runs.append(self._knn(sub["knn"], pool))
            else:
                run = [(s, n, i, d) for n, i, d in pool for ok, s in [self._match(sub, d, doc_id=i)] if ok]
                runs.append(sorted(run, key=lambda t: (-t[0], t[2]))[: hybrid.get("pagination_depth", 10)])
        processor = self.pipelines[pipeline_id]["phase_results_processors"][0]
        fused: dict[str, list[Any]] = {}
        if "score-ranker-processor" in processor:
            c, rrf_weights = self._rrf_parameters(processor["score-ranker-processor"]["combination"])
            for w, run in zip(rrf_weights or [1.0] * len(runs), runs):
                for rank, (s, n, i, d) in enumerate(run, start=1):
                    fused.setdefault(i, [0.0, n, i, d])[0] += w / (c + rank)
        else:
            weights = processor["normalization-processor"]["combination"].get("parameters", {}).get("weights", [1.0] * len(runs))
            for w, run in zip(weights, runs):
                scores = [t[0] for t in run]
                lo, hi = (min(scores), max(scores)) if scores else (0, 0)
                for s, n, i, d in run:
                    fused.setdefault(i, [0.0, n, i, d])[0] += w * ((s - lo) / (hi - lo) if hi > lo else 1.0) / sum(weights)
        return sorted((tuple(v) for v in fused.values()), key=lambda t: (-t[0], t[2]))

    def _match(self, query: dict[str, Any], doc: dict[str, Any], doc_id: str = "") -> tuple[bool, float]:
        """(matches, score) of a tiny query-DSL subset; filters score 0."""
        ((kind, spec),) = query.items()
        if kind == "match_all":
            return True, 1.0
        if kind == "ids":
            return doc_id in spec["values"], 0.0
        if kind in ("term", "terms"):
            ((path, wanted),) = ((k, v) for k, v in spec.items() if k not in ("boost", "_name"))
            wanted = wanted if isinstance(wanted, list) else [wanted]
            return bool(set(map(str, _values(doc, path))) & set(map(str, wanted))), 0.0
        if kind == "bool":
            score = 0.0
            for clause in _as_list(spec.get("must")):
                ok, s = self._match(clause, doc, doc_id)
                if not ok:
                    return False, 0.0
                score += s
            if not all(self._match(c, doc, doc_id)[0] for c in _as_list(spec.get("filter"))):
                return False, 0.0
            if any(self._match(c, doc, doc_id)[0] for c in _as_list(spec.get("must_not"))):
                return False, 0.0
            should = _as_list(spec.get("should"))
            if should and int(spec.get("minimum_should_match", 0 if spec.get("must") or spec.get("filter") else 1)) > 0:
                if not any(self._match(c, doc, doc_id)[0] for c in should):
                    return False, 0.0
            return True, score
        if kind == "range":
            ((path, bounds),) = spec.items()
            checks = {"gt": str.__gt__, "gte": str.__ge__, "lt": str.__lt__, "lte": str.__le__}
            ok = any(all(checks[op](str(v), str(b)) for op, b in bounds.items()) for v in _values(doc, path))
            return ok, 0.0
        if kind == "exists":
            return bool(_values(doc, spec["field"])), 0.0
        if kind == "match":  # one field; a field a document lacks matches nothing (as in Lucene)
            ((name, wanted),) = spec.items()
            text = wanted["query"] if isinstance(wanted, dict) else wanted
            terms = set(WORD.findall(str(text).lower()))
            words = WORD.findall(str(doc.get(name, "")).lower())
            score = sum(words.count(t) for t in terms) / (1 + len(words)) ** 0.5
            return score > 0, score
        if kind == "multi_match":
            terms = set(WORD.findall(spec["query"].lower()))
            score = 0.0
            for field_spec in spec["fields"]:
                name, _, boost = field_spec.partition("^")
                words = WORD.findall(str(doc.get(name, "")).lower())
                score += float(boost or 1) * sum(words.count(t) for t in terms) / (1 + len(words)) ** 0.5
            return score > 0, score
        raise error(400, "stub_unsupported", f"the stub cannot run a {kind!r} query")


def _validate_weights(weights: list[float]) -> None:
    """neural-search ScoreCombinationUtil.validateWeights, checked when the pipeline is created."""
    if any(not 0.0 <= w <= 1.0 for w in weights):
        raise error(400, "illegal_argument_exception", f"all weights must be in range [0.0 ... 1.0], submitted weights {weights}")
    if abs(sum(weights) - 1.0) > 0.01:
        raise error(400, "illegal_argument_exception", f"sum of weights for combination must be equal to 1.0, submitted weights {weights}")


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _values(doc: dict[str, Any], path: str) -> list[Any]:
    node: Any = doc
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return _as_list(node)


def _source(doc: dict[str, Any], spec: Any) -> dict[str, Any]:
    if spec is True:
        return copy.deepcopy(doc)
    if spec is False:
        return {}
    return {k: copy.deepcopy(v) for k, v in doc.items() if k in spec}


def _exclude(doc: dict[str, Any], excludes: str) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in doc.items() if k not in excludes.split(",")}


def _flat(value: Any, prefix: str = "", strip_index: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in (value or {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(sub, dict) and sub:
            out.update(_flat(sub, path))
        else:
            out[path] = sub
    if strip_index:
        out = {k[len("index."):] if k.startswith("index.") else k: v for k, v in out.items()}
    return out


def _stringified(settings: dict[str, Any]) -> dict[str, Any]:
    def text(v: Any) -> Any:
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, list):
            return [text(x) for x in v]
        return str(v)

    return {k: text(v) for k, v in settings.items()}


def _task_summary(*, total: int, deleted: int = 0, created: int = 0, failures: list | None = None) -> dict[str, Any]:
    return {
        "took": 1, "timed_out": False, "total": total, "updated": 0, "created": created, "deleted": deleted,
        "batches": 1, "version_conflicts": len(failures or []), "noops": 0, "retries": {"bulk": 0, "search": 0},
        "throttled_millis": 0, "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": failures or [],
    }
