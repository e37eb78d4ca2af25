"""report.md and the plots of a curation run: what each stage did, and what the selection looks like."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from s1kit.curate.classify import domain_counts
from s1kit.eval.plots import pyplot
from s1kit.files import replacing

DOMAINS_PNG = "domains.png"
LENGTHS_PNG = "trace_lengths.png"


def length_summary(records: Sequence[dict]) -> dict:
    """Trace-length statistics (tokens) of some records."""
    lengths = sorted(r["trace_tokens"] for r in records if isinstance(r.get("trace_tokens"), int))
    if not lengths:
        return {"records": 0}
    return {"records": len(lengths), "mean": round(statistics.fmean(lengths), 1),
            "median": statistics.median(lengths), "min": lengths[0], "max": lengths[-1]}


def plot_domains(before: Sequence[dict], after: Sequence[dict], path: Path, field: str = "domain", top: int = 30) -> Path:
    """Bar chart of the share of records per domain, before and after selection."""
    plt = pyplot()
    counts_before, counts_after = domain_counts(before, field), domain_counts(after, field)
    names = list(dict.fromkeys([*counts_after, *counts_before]))[:top]
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(max(6.4, 0.32 * len(names) + 2), 4.4))
    width = 0.4
    for offset, counts, total, label in ((-width / 2, counts_before, len(before), f"before selection ({len(before)})"),
                                         (width / 2, counts_after, len(after), f"selected ({len(after)})")):
        ax.bar([i + offset for i in x], [100 * counts.get(n, 0) / max(total, 1) for n in names], width, label=label)
    ax.set_xticks(list(x), names, rotation=90, fontsize=7)
    return _save(plt, fig, ax, path, f"domain (MSC class; top {len(names)} by selected count)",
                 "share of records (%)", "Domains before and after selection")


def plot_lengths(before: Sequence[dict], after: Sequence[dict], path: Path) -> Path:
    """Histograms (density) of trace lengths in tokens, before and after selection, log-spaced bins."""
    import numpy as np

    plt = pyplot()
    series = [(label, [r["trace_tokens"] for r in rs if isinstance(r.get("trace_tokens"), int)])
              for label, rs in ((f"before selection ({len(before)})", before), (f"selected ({len(after)})", after))]
    values = [v for _, vs in series for v in vs] or [1]
    bins = np.geomspace(max(1, min(values)), max(2, max(values)) + 1, 30)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for label, vs in series:
        if vs:
            ax.hist([max(v, 1) for v in vs], bins=bins, density=True, alpha=0.55, label=label)
    ax.set_xscale("log")
    return _save(plt, fig, ax, path, "reasoning trace length (tokens, log scale)", "density",
                 "Trace lengths before and after selection")


def report_markdown(manifest: dict) -> str:
    lines = [f"# Curation of {manifest['pool']['source']}", "",
             f"{manifest['pool']['records']} pool records -> {manifest['selected']} selected "
             f"(select: {manifest['config']['select']}, seed {manifest['config']['seed']}).", "",
             "| stage | kept | dropped | reasons |", "|---|---|---|---|"]
    for stage in manifest["stages"]:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in stage["reasons"].items()) or "-"
        lines.append(f"| {stage['name']} | {stage['kept']} | {stage['dropped']} | {reasons} |")
    bench = manifest.get("benchmark_quality")
    if bench:
        lines += ["", f"Benchmark-quality picks kept first: {bench['picked']} "
                      f"({', '.join(f'{k}: {v}' for k, v in bench['reasons'].items()) or 'none'})."]
    if manifest.get("solvers"):
        lines += ["", "| solver | asked | failed | correct (rules) | correct (final) | judged | overturned | unreadable |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, s in manifest["solvers"].items():
            j = s.get("judge") or {}
            lines.append(f"| {name} | {s['asked']} | {s['failed']} | {s['correct_by_rules']} | {s['correct']} | "
                         f"{j.get('judged', '-')} | {j.get('overturned', '-')} | {j.get('unreadable', '-')} |")
    domains = manifest["domains"]
    if domains.get("classifier"):
        c = domains["classifier"]
        lines += ["", f"Classifier {domains['model']}: asked {c['asked']}, classified {c['classified']}, "
                      f"unknown {c['unknown']}, failed calls {c['failed']}."]
    lines += ["", f"Selected domains ({len(domains['selected'])}): "
                  + ", ".join(f"{d} {n}" for d, n in list(domains["selected"].items())[:20])
                  + (" ..." if len(domains["selected"]) > 20 else "")]
    lengths = manifest["trace_tokens"]
    lines += ["", "| trace tokens | records | mean | median | min | max |", "|---|---|---|---|---|---|"]
    for name in ("before_selection", "selected"):
        s = lengths[name]
        lines.append(f"| {name.replace('_', ' ')} | {s['records']} | {s.get('mean', '-')} | {s.get('median', '-')} | "
                     f"{s.get('min', '-')} | {s.get('max', '-')} |")
    calls = manifest["calls"]
    lines += ["", f"Model calls: {calls['made']} made, {calls['cached']} read from the cache, {calls['failed']} failed.",
              "", f"![domains]({DOMAINS_PNG})", "", f"![trace lengths]({LENGTHS_PNG})", ""]
    return "\n".join(lines)


def _save(plt, fig, ax, path: Path, xlabel: str, ylabel: str, title: str) -> Path:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with replacing(path) as temporary:  # whole or not at all
        fig.savefig(temporary, dpi=120)
    plt.close(fig)
    return path
