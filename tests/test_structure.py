"""The shape of the code: import graph, backend capabilities, unit sizes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from app.settings import PROJECT_ROOT

PACKAGES = ("app", "reranker_study")


def modules(package: str) -> dict[str, Path]:
    root = PROJECT_ROOT / package
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Modules of ours that ``name`` imports anywhere (lazily too), except for type checking."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    return {t for t in targets if t in known and t != name}


def test_no_import_cycles() -> None:
    """Lazy imports count: a cycle through one is still two units that need each other."""
    known = {name: path for package in PACKAGES for name, path in modules(package).items()}
    graph = {name: imports_of(path, name, set(known)) for name, path in known.items()}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


#: getattr/hasattr on something named like a backend (self.backend, parts.backend, backend, ...).
BACKEND_PROBE = re.compile(r"\b(?:getattr|hasattr)\(\s*[\w.]*backend\b")


def test_backend_features_are_declared_not_probed() -> None:
    """Optional backend features are app.backends.capabilities protocols, asked with isinstance."""
    probes = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
        for package in PACKAGES
        for path in modules(package).values()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if BACKEND_PROBE.search(line)
    ]
    assert not probes, "\n".join(probes)


def test_each_backend_declares_what_it_can_do(tmp_path: Path) -> None:
    from app.backends import capabilities as cap
    from app.backends.embedded import EmbeddedBackend
    from app.backends.opensearch import OpenSearchBackend
    from app.settings import Settings

    settings = Settings(data_dir=tmp_path)
    embedded, opensearch = EmbeddedBackend(settings), OpenSearchBackend(settings, client=object())
    declared = {
        cap.ServerSideFusion: (False, True),
        cap.ServerSideReindex: (False, True),
        cap.IndexScanning: (True, True),
        cap.TemplateInstalling: (False, True),
        cap.IndexGenerations: (True, False),
        cap.PreloadBeforeFork: (True, False),
    }
    for protocol, (in_embedded, in_opensearch) in declared.items():
        assert isinstance(embedded, protocol) == in_embedded, protocol.__name__
        assert isinstance(opensearch, protocol) == in_opensearch, protocol.__name__


#: The acceptance size of one unit, for app/ and the serving reranker package within it.
MAX_LINES = 400


def test_serving_never_imports_the_study() -> None:
    """Training, folds and torch stay out of the service: nothing in app/ imports reranker_study."""
    app_modules = modules("app")
    known = set(app_modules) | set(modules("reranker_study"))
    offenders = {
        name: sorted(t for t in imports_of(path, name, known) if t.startswith("reranker_study"))
        for name, path in app_modules.items()
    }
    assert not {name: found for name, found in offenders.items() if found}


def test_no_unit_in_app_is_over_the_size_limit() -> None:
    sizes = {
        str(path.relative_to(PROJECT_ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in modules("app").values()
    }
    assert not {path: lines for path, lines in sizes.items() if lines > MAX_LINES}
