"""Versioned composable index templates: built here, committed as JSON, installed as is.

``index_templates/docs/v<N>.json`` is the reviewed artifact of template version
``N``, rendered by :func:`build_template` with default settings (a test keeps the
files in sync with this module). At install time the committed file is read and
only the operator-tunable values (shards, replicas, ``ef_search``, the HNSW
engine and graph parameters, the alias prefix) are overlaid from
:class:`~app.settings.Settings` by :func:`render_template`, so the cluster gets
exactly the reviewed structure; :func:`template_drift` says where a cluster's
stored copy differs from it.

Index names: template ``vN`` matches ``<alias>-vN-*``; the backend names the
physical indexes ``<alias>-vN-000001``, ``-000002``... (a generation suffix, so a
version can be rebuilt beside its live copy).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from app.analysis import lexical_design, opensearch_analysis
from app.backends.base import index_name
from app.backends.opensearch_versions import FAISS_COSINE_SINCE, UnsupportedByCluster
from app.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from app.backends.opensearch_cluster import Cluster

TEMPLATES_DIR = PROJECT_ROOT / "index_templates" / "docs"
#: Above a cluster's catch-all templates (which are usually 0..100).
BASE_PRIORITY = 200


@dataclass(frozen=True)
class TemplateModel:
    """The embedding model a template version was designed for."""

    model_version: str
    dimension: int


#: One entry per template version; a new model or mapping means a new version.
TEMPLATE_MODELS: Mapping[int, TemplateModel] = {
    1: TemplateModel(model_version="all-MiniLM-L6-v2", dimension=384),
    2: TemplateModel(model_version="all-MiniLM-L6-v2", dimension=384),
}
#: The whole-document field of template versions with document-level BM25; only a
#: document's first chunk has it, so its BM25 statistics count documents.
DOCUMENT_TEXT = "doc_text"
#: The ``knn_vector`` field holding each chunk's embedding.
EMBEDDING = "embedding"


def template_name(alias: str, version: int) -> str:
    """``docs`` + 1 → ``docs-v1``: a template is named like the short name of its indexes."""
    return index_name(alias, version)


def embedding_mapping(settings: Settings, dimension: int) -> dict[str, Any]:
    """The ``knn_vector`` field: HNSW, cosine, engine and graph from settings.

    Default engine ``lucene``: it filters *during* the graph walk (efficient
    filtering) on every 2.x/3.x release, needs no native library, and at our
    sizes (≤ a few million 384-d chunks) matches faiss's recall and latency.
    ``faiss`` filters efficiently too, and takes ``cosinesimil`` from k-NN 2.19.
    """
    return {
        "type": "knn_vector",
        "dimension": dimension,
        "method": {
            "name": "hnsw",
            "space_type": "cosinesimil",
            "engine": settings.opensearch_knn_engine,
            "parameters": {"m": settings.hnsw_m, "ef_construction": settings.hnsw_ef_construction},
        },
    }


def build_template(version: int, settings: Settings | None = None) -> dict[str, Any]:
    """The composable index template body of ``version`` (PUT _index_template)."""
    settings = settings or Settings()
    model = TEMPLATE_MODELS[version]
    meta = {
        "template_version": version,
        "model_version": model.model_version,
        "dimension": model.dimension,
        "managed_by": "hybrid-search",
    }
    design = lexical_design(version)
    text = {"type": "text", "analyzer": design.analyzer.name}
    keyword = {"type": "keyword"}
    document_level = {DOCUMENT_TEXT: text} if design.whole_documents else {}
    return {
        "index_patterns": [f"{template_name(settings.index_alias, version)}-*"],
        "priority": BASE_PRIORITY + version,
        "version": version,
        "_meta": meta,
        "template": {
            "settings": {
                "index": {
                    "knn": True,
                    "knn.algo_param.ef_search": settings.hnsw_ef_search,
                    "number_of_shards": settings.opensearch_shards,
                    "number_of_replicas": settings.opensearch_replicas,
                },
                "analysis": opensearch_analysis(design.analyzer),
            },
            "mappings": {
                # A misspelled or unexpected field fails the document loudly.
                "dynamic": "strict",
                "_meta": meta,
                "dynamic_templates": [
                    {"metadata_keywords": {"path_match": "metadata.*", "mapping": {"type": "keyword"}}}
                ],
                "properties": {
                    "doc_id": keyword,
                    "chunk_id": keyword,
                    "position": {"type": "integer"},
                    "title": {**text, "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}},
                    "body": text,
                    **document_level,
                    "tenant": keyword,
                    "acl": keyword,
                    # Only metadata may grow new (keyword) fields.
                    "metadata": {"type": "object", "dynamic": True},
                    "url": {"type": "keyword", "index": False},
                    "updated_at": {"type": "date", "format": "strict_date_optional_time"},
                    "content_hash": keyword,
                    EMBEDDING: embedding_mapping(settings, model.dimension),
                },
            },
        },
    }


def template_path(version: int) -> Path:
    return TEMPLATES_DIR / f"v{version}.json"


def load_template(version: int) -> dict[str, Any]:
    """The committed JSON of ``version``."""
    path = template_path(version)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"index template v{version} is not in the repository ({path})") from None


def committed_versions() -> list[int]:
    """Every ``v<N>.json`` under ``index_templates/docs``, ascending."""
    return sorted(int(p.stem[1:]) for p in TEMPLATES_DIR.glob("v*.json") if p.stem[1:].isdigit())


def render_template(version: int, settings: Settings) -> dict[str, Any]:
    """The committed template with this deployment's tunables overlaid."""
    body = copy.deepcopy(load_template(version))
    body["index_patterns"] = [f"{template_name(settings.index_alias, version)}-*"]
    index = body["template"]["settings"]["index"]
    index["knn.algo_param.ef_search"] = settings.hnsw_ef_search
    index["number_of_shards"] = settings.opensearch_shards
    index["number_of_replicas"] = settings.opensearch_replicas
    embedding = body["template"]["mappings"]["properties"][EMBEDDING]
    embedding.update(embedding_mapping(settings, embedding["dimension"]))
    return body


def write_templates(settings: Settings | None = None) -> list[Path]:
    """Regenerate every committed template from :func:`build_template`."""
    TEMPLATES_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for version in TEMPLATE_MODELS:
        path = template_path(version)
        path.write_text(json.dumps(build_template(version, settings), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def template_drift(wanted: Mapping[str, Any], cluster: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Dotted paths where the cluster's template differs from ours (settings compared as strings)."""
    ours, theirs = _comparable(wanted), _comparable(cluster)
    return {
        path: {"cluster": theirs.get(path), "repository": ours.get(path)}
        for path in sorted(set(ours) | set(theirs))
        if ours.get(path) != theirs.get(path)
    }


def _comparable(template: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    body = dict(template)
    if not body.get("composed_of"):
        # A cluster echoes "composed_of": [] for a template stored without it.
        body.pop("composed_of", None)
    inner = dict(body.pop("template", {}) or {})
    settings = inner.pop("settings", {}) or {}
    for key, value in _flatten(settings).items():
        # The cluster answers index settings as "index.x" strings.
        key = key if key.startswith("index.") else f"index.{key}"
        flat[f"template.settings.{key}"] = str(value).lower() if isinstance(value, bool) else str(value)
    for key, value in _flatten({"template": inner, **body}).items():
        flat[key] = value
    return flat


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


if __name__ == "__main__":  # python -m app.backends.opensearch_templates
    for written_path in write_templates():
        print(written_path)


# ------------------------------------------------------------ on the cluster
def install_templates(cluster: Cluster, versions: Iterable[int] | None = None) -> dict[str, dict[str, Any]]:
    """Install the repository's templates; idempotent.

    Returns per template ``{"action": created|updated|unchanged, "drift": {...}}``
    where drift lists the dotted paths that differed on the cluster before.
    """
    settings, report = cluster.settings, {}
    check_knn_engine(cluster)
    for version in versions or committed_versions():
        name = template_name(settings.index_alias, version)
        wanted = render_template(version, settings)
        current = _cluster_template(cluster, name)
        drift = {} if current is None else template_drift(wanted, current)
        action = "created" if current is None else "updated" if drift else "unchanged"
        if action != "unchanged":
            cluster.call(f"installing template {name}", cluster.client.indices.put_index_template, name=name, body=wanted)
        report[name] = {"action": action, "version": version, "drift": drift}
    return report


def check_knn_engine(cluster: Cluster) -> None:
    """Refuse an engine the cluster cannot run with ``cosinesimil`` (faiss before 2.19)."""
    if cluster.settings.opensearch_knn_engine == "faiss" and cluster.release() < FAISS_COSINE_SINCE:
        raise UnsupportedByCluster("the faiss engine with cosinesimil", FAISS_COSINE_SINCE, cluster.release())


def cluster_template_versions(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """Every ``<alias>-vN`` template on the cluster: version, model, dimension, in sync."""
    settings = cluster.settings
    found = cluster.get_or_none(
        "reading index templates", cluster.client.indices.get_index_template, name=f"{settings.index_alias}-v*"
    ) or {}
    repo = set(committed_versions())
    out = {}
    for entry in found.get("index_templates", []):
        body = entry["index_template"]
        version = body.get("version")
        meta = body.get("_meta", {})
        out[entry["name"]] = {
            "version": version,
            "model_version": meta.get("model_version"),
            "dimension": meta.get("dimension"),
            "in_repo": version in repo,
            "in_sync": version in repo and not template_drift(render_template(version, settings), body),
        }
    return out


def _cluster_template(cluster: Cluster, name: str) -> dict[str, Any] | None:
    found = cluster.get_or_none(f"reading template {name}", cluster.client.indices.get_index_template, name=name) or {}
    for entry in found.get("index_templates", []):
        if entry.get("name") == name:
            return entry["index_template"]
    return None
