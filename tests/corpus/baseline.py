"""Write BASELINE.md: what the report gets wrong on the corpus today, check by check.

`python -m corpus.baseline [CORPUS_DIR [OUT.md]]` (with tests/ and the tree on PYTHONPATH) builds
the corpus (or reuses CORPUS_DIR) and runs the same checks as tests/test_corpus.py, writing one row
per mismatch: graph, variant, the report field, what the report says, what the truth is.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from corpus.checks import CHECKS, analysis_facts, run_check
from corpus.fixtures import HERE, CorpusFiles, build_corpus, report_of
from corpus.registry import ENTRIES, Entry


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _truth_text(entry: Entry) -> str:
    """The truth of one graph in a table cell."""
    t = entry.truth
    cells = ", ".join(f"{c.layer}/{c.direction} {c.report_kind} {c.form}" for c in t.cells)
    loops = ", ".join(
        f"d{lt.depth} trip {lt.trip_count or f'open (steps={entry.steps})'}" for lt in t.loops
    )
    return (
        f"params {t.params}; cells: {cells or 'none'}; unrolled {t.unrolled_steps}; "
        f"loops: {loops or 'none'}; MatMul {t.matmul_flops}"
        + (f"; in fused ops {t.fused_matmul_flops}" if t.fused_matmul_flops else "")
    )


def _rows(files: CorpusFiles) -> tuple[list[str], dict[str, int], Counter, dict]:
    rows, failing, fields = [], {check: 0 for check in (*CHECKS, "twin")}, Counter()
    per_graph: dict[str, dict[str, list[str]]] = {}
    for name, entry in ENTRIES.items():
        fails = per_graph[name] = {"live": [], "frozen": [], "twin": []}
        reports = {}
        for variant in ("live", "frozen"):
            try:
                r = reports[variant] = report_of(files.path(name, variant), entry.steps)
            except Exception as exc:  # the report itself failed: every check of it fails
                rows.append(f"| {name} | {variant} | report() | raised {_cell(exc)} | a report |")
                failing.update({c: failing[c] + 1 for c in CHECKS})
                fails[variant].append("report() raised")
                continue
            for check in CHECKS:
                found = run_check(check, r, entry, variant)
                failing[check] += bool(found)
                fails[variant] += [check] if found else []
                fields.update({m.check for m in found})
                rows += [
                    f"| {name} | {variant} | {m.check} | {_cell(m.seen)} | {_cell(m.want)} |"
                    for m in found
                ]
        if len(reports) == 2:
            live, frozen = (analysis_facts(reports[v]) for v in ("live", "frozen"))
            diff = sorted(k for k in live if live[k] != frozen[k])
            if diff:
                failing["twin"] += 1
                fails["twin"] = diff
                seen = "; ".join(f"{k}: {_cell(frozen[k])}" for k in diff)
                want = "; ".join(f"{k}: {_cell(live[k])}" for k in diff)
                rows.append(f"| {name} | frozen vs live | twin agrees | {seen} | {want} (live) |")
    return rows, failing, fields, per_graph


def _per_graph_table(per_graph: dict[str, dict[str, list[str]]]) -> str:
    lines = []
    for name, fails in per_graph.items():
        cells = [", ".join(fails[v]) or "right" for v in ("live", "frozen", "twin")]
        lines.append(f"| {name} | {_truth_text(ENTRIES[name])} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _rnnviz_commit() -> str:
    """The commit of the rnnviz tree measured (the one imported), plus a mark if it is edited."""
    import rnnviz

    root = Path(rnnviz.__file__).resolve().parent.parent
    git = ["git", "-C", str(root)]
    commit = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run([*git, "diff", "--quiet", "--", "rnnviz"]).returncode != 0
    return commit + (" with uncommitted changes" if dirty else "")


def main(directory: Path, out: Path = HERE / "BASELINE.md") -> None:
    files = build_corpus(directory)
    start = time.process_time()
    rows, failing, fields, per_graph = _rows(files)
    took = time.process_time() - start
    imported = "tensorflow" in sys.modules  # this process imported nothing of TF before the reports
    n = len(ENTRIES)
    summary = "\n".join(
        f"| {check} | {count} of {2 * n if check != 'twin' else n} |"
        for check, count in failing.items()
    )
    summary += f"\n| no TensorFlow import | {'fails' if imported else 'passes'} |"
    by_field = "\n".join(f"| {f} | {count} of {2 * n} |" for f, count in sorted(fields.items()))
    cost = "with the TensorFlow import they trigger" if imported else "no TensorFlow import"
    text = (
        f"""# The report on the foreign-graph corpus, field by field

Measured on rnnviz at commit {_rnnviz_commit()} (`python -m corpus.baseline`):
{n} graphs, each live and frozen. Corpus build: {files.build["cpu_seconds"]:.1f} s CPU
({files.build["wall_seconds"]:.1f} s wall on a shared machine); the {2 * n} reports ({cost}):
{took:.1f} s CPU.
Reading the files {"imported" if imported else "did not import"} TensorFlow.

## Failing test cases per check

| check | failing |
|---|---|
{summary}

## Graph files (live or frozen) on which each report field is wrong

| field | wrong on |
|---|---|
{by_field}

## Per graph: the truth, and the checks that fail on the live file, the frozen twin, and between them

| graph | truth | live fails | frozen fails | twin differs on |
|---|---|---|---|---|
{_per_graph_table(per_graph)}

## Every mismatch (report vs truth)

| graph | variant | field | report says | truth |
|---|---|---|---|---|
"""
        + "\n".join(rows)
        + "\n"
    )
    out.write_text(text)
    print(f"{len(rows)} mismatches written to {out}")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]]
    main(args[0] if args else Path(tempfile.mkdtemp()), *args[1:2])
