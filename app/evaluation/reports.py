"""Human-readable output: console/Markdown tables, Markdown reports, PNG plots.

Plots use matplotlib's Agg backend (no display needed, safe in CI).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from app.evaluation.compare import Comparison
from app.evaluation.tuning import TuneResult
from app.fusion import DEFAULT_RANK_CONSTANT


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown pipe table, aligned so it also reads well in a terminal."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(str(h)), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"
    return "\n".join([line([str(h) for h in headers]), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *(line(r) for r in cells)])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def describe_config(config: Any) -> str:
    """``linear/min_max w=0.30:0.70`` or ``rrf k=60 w=0.50:0.50``."""
    w = config.weights
    weights = f"w={w.get('lexical', 0.0):.2f}:{w.get('vector', 0.0):.2f}"
    if config.method == "rrf":
        return f"rrf k={config.rank_constant} {weights}"
    return f"linear/{config.normalization} {weights}"


# --- tuning ----------------------------------------------------------------------


def tune_summary(result: TuneResult) -> str:
    """Per-collection in-sample best, out-of-fold and reference scores."""
    best = result.scores[result.best]
    rows = []
    for g, name in enumerate(result.collections):
        mask = result.groups == g
        row = [name, int(mask.sum()), float(result.reference[mask].mean()), float(best[mask].mean()),
               float(result.cv.oof_scores[mask].mean())]
        if result.loco:
            row.append(result.loco[g][1])
        rows.append(row)
    macro = ["macro average", int(len(result.groups)), result.reference_score, float(result.means[result.best]),
             result.cv.score]
    if result.loco:
        macro.append(float(np.mean([s for _, s in result.loco.values()])))
    rows.append(macro)
    headers = ["collection", "queries", f"rrf k={DEFAULT_RANK_CONSTANT} (untuned)", "in-sample best", f"{len(result.cv.chosen)}-fold CV (out-of-fold)"]
    if result.loco:
        headers.append("leave-one-collection-out")
    return table(headers, rows)


def plot_weight_curve(result: TuneResult, path: Path) -> Path:
    """Macro metric vs lexical weight, one line per normalisation or rank constant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = result.means
    series: dict[str, list[tuple[float, float]]] = {}
    for config, value in zip(result.configs, means):
        label = f"k={config.rank_constant}" if config.method == "rrf" else config.normalization
        series.setdefault(label, []).append((config.weights.get("lexical", 0.0), float(value)))
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for label, points in series.items():
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=label, linewidth=1.2)
    best = result.best_config
    ax.scatter([best.weights.get("lexical", 0.0)], [means[result.best]], color="black", zorder=5,
               label=f"in-sample best ({describe_config(best)})")
    ax.axhline(result.reference_score, color="grey", linestyle="--", linewidth=1, label=f"rrf k={DEFAULT_RANK_CONSTANT}, equal weights")
    ax.axhline(result.cv.score, color="tab:red", linestyle=":", linewidth=1.2, label="out-of-fold (CV) score")
    ax.set_xlabel("lexical weight (vector weight = 1 - w)")
    ax.set_ylabel(f"{result.metric} (macro average)")
    ax.set_title(f"{result.method} fusion on {', '.join(result.collections)}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_tune_report(result: TuneResult, out_dir: Path, profile_path: Path | None = None) -> Path:
    """``tune.md`` and ``weight_curve.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_weight_curve(result, out_dir / "weight_curve.png")
    chosen = [describe_config(result.configs[c]) if c >= 0 else "-" for c in result.cv.chosen]
    top = np.argsort(-result.means, kind="stable")[:10]
    lines = [
        f"# Fusion tuning: {result.method}, {result.metric}",
        "",
        f"Generated {_now()} over {', '.join(result.collections)}; {len(result.configs)} configurations.",
        "",
        f"**In-sample best:** `{describe_config(result.best_config)}` — {result.means[result.best]:.4f} "
        "(optimistic: chosen and scored on the same queries).",
        f"**Out-of-fold:** {result.cv.score:.4f} — the score of *choosing on the other folds*, on unseen queries. "
        f"**Untuned RRF (k={DEFAULT_RANK_CONSTANT}):** {result.reference_score:.4f}.",
        "",
        tune_summary(result),
        "",
        "![metric vs weight](weight_curve.png)",
        "",
        "## Choice per fold",
        "",
        table(["fold", "queries", "chosen on the other folds"],
              [[f, int((result.cv.fold_of_query == f).sum()), c] for f, c in enumerate(chosen)]),
        "",
        "## Top configurations (in-sample)",
        "",
        table(["configuration", result.metric], [[describe_config(result.configs[i]), float(result.means[i])] for i in top]),
    ]
    if result.loco:
        lines += ["", "## Leave one collection out", "",
                  table(["held-out collection", "chosen on the others", result.metric],
                        [[result.collections[g], describe_config(result.configs[c]), s] for g, (c, s) in result.loco.items()])]
    if profile_path is not None:
        lines += ["", f"Profile written to `{profile_path}`."]
    path = out_dir / "tune.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- comparison --------------------------------------------------------------------


def compare_summary(c: Comparison) -> str:
    """Headline numbers of a comparison as a table."""
    return table(
        ["metric", "queries", f"A: {c.a_name}", f"B: {c.b_name}", "B - A", "p (paired randomization)", "wins", "losses", "ties"],
        [[c.metric, len(c.query_ids), float(c.a.mean()), float(c.b.mean()), c.mean_difference, c.p_value,
          c.wins, c.losses, c.ties]],
    )


def movers_table(c: Comparison) -> str:
    rows = [[m.query_id, _clip(m.query), m.a, m.b, m.delta] for m in (*c.movers_up, *c.movers_down)]
    return table(["query", "text", "A", "B", "B - A"], rows) if rows else "(no query moved)"


def plot_delta_histogram(c: Comparison, path: Path) -> Path:
    """Histogram of per-query B - A."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    deltas = c.deltas
    ax.hist(deltas, bins=np.linspace(-1, 1, 41), color="tab:blue", alpha=0.8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.axvline(c.mean_difference, color="tab:red", linestyle="--", label=f"mean {c.mean_difference:+.4f} (p={c.p_value:.3g})")
    ax.set_xlabel(f"per-query {c.metric}: B ({c.b_name}) - A ({c.a_name})")
    ax.set_ylabel("queries")
    ax.set_title(f"{c.wins} wins, {c.losses} losses, {c.ties} ties")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_compare_report(comparisons: Sequence[tuple[str, Comparison]], out_dir: Path) -> Path:
    """``compare.md`` and one delta histogram per (collection, metric)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# Comparison: A vs B", "", f"Generated {_now()}. Positive differences mean B is better.", ""]
    for label, c in comparisons:
        image = f"delta_{_slug(label)}_{_slug(c.metric)}.png"
        plot_delta_histogram(c, out_dir / image)
        lines += [f"## {label} — {c.metric}", "", compare_summary(c), "", f"![per-query delta]({image})", "",
                  "Biggest movers:", "", movers_table(c), ""]
    path = out_dir / "compare.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
