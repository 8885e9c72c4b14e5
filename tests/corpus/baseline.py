"""Write BASELINE.md: what the report gets wrong on the corpus today, check by check.

`python -m corpus.baseline [CORPUS_DIR]` (with tests/ and the tree on PYTHONPATH) builds the
corpus (or reuses CORPUS_DIR) and runs the same checks as tests/test_corpus.py, writing one row
per mismatch: graph, variant, the report field, what the report says, what the truth is.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from corpus.checks import CHECKS, analysis_facts, run_check
from corpus.fixtures import HERE, build_corpus, report_of
from corpus.registry import ENTRIES


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _rows(files) -> tuple[list[str], dict[str, int]]:
    rows, failing = [], {check: 0 for check in (*CHECKS, "twin")}
    for name, entry in ENTRIES.items():
        reports = {}
        for variant in ("live", "frozen"):
            try:
                r = reports[variant] = report_of(files.path(name, variant), entry.steps)
            except Exception as exc:  # the report itself failed: every check of it fails
                rows.append(f"| {name} | {variant} | report() | raised {_cell(exc)} | a report |")
                failing.update({c: failing[c] + 1 for c in CHECKS})
                continue
            for check in CHECKS:
                found = run_check(check, r, entry, variant)
                failing[check] += bool(found)
                rows += [
                    f"| {name} | {variant} | {m.check} | {_cell(m.seen)} | {_cell(m.want)} |"
                    for m in found
                ]
        if len(reports) == 2:
            live, frozen = (analysis_facts(reports[v]) for v in ("live", "frozen"))
            diff = sorted(k for k in live if live[k] != frozen[k])
            if diff:
                failing["twin"] += 1
                seen = "; ".join(f"{k}: {_cell(frozen[k])}" for k in diff)
                want = "; ".join(f"{k}: {_cell(live[k])}" for k in diff)
                rows.append(f"| {name} | frozen vs live | twin agrees | {seen} | {want} (live) |")
    return rows, failing


def main(directory: Path) -> None:
    files = build_corpus(directory)
    start = time.process_time()
    rows, failing = _rows(files)
    took = time.process_time() - start
    imported = "tensorflow" in sys.modules  # this process imported nothing of TF before the reports
    n = len(ENTRIES)
    summary = "\n".join(
        f"| {check} | {count} of {2 * n if check != 'twin' else n} |"
        for check, count in failing.items()
    )
    summary += f"\n| no TensorFlow import | {'fails' if imported else 'passes'} |"
    text = (
        f"""# Corpus baseline: the report on foreign graphs before issue 8

Measured on the code at the commit that added this file (`python -m corpus.baseline`):
{n} graphs, each live and frozen. Corpus build: {files.build["cpu_seconds"]:.1f} s CPU
({files.build["wall_seconds"]:.1f} s wall on a shared machine); the {2 * n} reports: {took:.1f} s CPU.
Reading the files {"imported" if imported else "did not import"} TensorFlow.

## Failing test cases per check

| check | failing |
|---|---|
{summary}

## Every mismatch (report vs truth)

| graph | variant | field | report says | truth |
|---|---|---|---|---|
"""
        + "\n".join(rows)
        + "\n"
    )
    (HERE / "BASELINE.md").write_text(text)
    print(f"{len(rows)} mismatches written to {HERE / 'BASELINE.md'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
