"""``make bench``: run every benchmark script in this folder and print their tables in turn.

Each script measures its own baseline in the same run (raw ``nlp.pipe``, direct function calls,
...), so the ratios it prints are comparable across machines. Pass names to run only some:
``python -m bench tag ingest``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["ingest", "tag", "model", "review", "flows"]


def main(argv: list[str]) -> int:
    scripts = {p.stem: p for p in HERE.glob("*.py") if not p.stem.startswith("_")}
    names = argv or [n for n in ORDER if n in scripts] + sorted(set(scripts) - set(ORDER))
    failed = 0
    for name in names:
        script = scripts.get(name)
        if script is None:
            print(f"== {name}: no such benchmark ({', '.join(sorted(scripts))})")
            failed += 1
            continue
        print(f"== {name} ({script.name})", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False)
        print(f"== {name}: exit {result.returncode}, {time.perf_counter() - started:.1f} s\n")
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
