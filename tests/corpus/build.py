"""Build the whole corpus into a directory, once, in one process: `python -m corpus.build OUT`.

Writes `<name>.pb` (or `<name>.savedmodel/`) and `<name>.frozen.pb` per entry, and
`manifest.json` with the files, the trainable count TensorFlow reported at construction, and the
time each graph took. Stops with an error if the count differs from the truth's formula: then the
corpus, not rnnviz, is wrong. Run by the session fixture in `corpus/fixtures.py`.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from corpus.registry import ENTRIES, Entry


def build_one(entry: Entry, out: Path) -> dict:
    from rnnviz.tfcompat import tf

    module, function = entry.builder.rsplit(".", 1)
    builder = getattr(importlib.import_module(f"corpus.builders.{module}"), function)
    start = time.process_time()
    tf.keras.backend.clear_session()  # fresh Keras layer names per graph
    built = builder(out / entry.name, entry.truth, **entry.options)
    if built.trainable != entry.truth.params:
        raise SystemExit(
            f"corpus bug: {entry.name} has {built.trainable} trainable parameters, "
            f"its truth formula says {entry.truth.params}"
        )
    if isinstance(built.live, Path):
        live = built.live
    else:
        live = out / f"{entry.name}.pb"
        live.write_bytes(built.live.SerializeToString())
    frozen = out / f"{entry.name}.frozen.pb"
    frozen.write_bytes(built.frozen.SerializeToString())
    return {
        "live": live.name,  # relative to the corpus directory, so that it can move
        "frozen": frozen.name,
        "trainable": built.trainable,
        "cpu_seconds": round(time.process_time() - start, 3),
    }


def main(out: Path, names: list[str]) -> None:
    start, wall = time.process_time(), time.time()
    out.mkdir(parents=True, exist_ok=True)
    manifest = {name: build_one(ENTRIES[name], out) for name in names or ENTRIES}
    took = {"cpu_seconds": time.process_time() - start, "wall_seconds": time.time() - wall}
    (out / "manifest.json").write_text(json.dumps({"graphs": manifest, "build": took}, indent=1))
    print(
        f"corpus: {len(manifest)} graphs in {took['cpu_seconds']:.1f} s CPU, {took['wall_seconds']:.1f} s wall"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
