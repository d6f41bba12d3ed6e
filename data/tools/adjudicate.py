"""Apply a recorded adjudication round to the labeled data files (or check that it is applied).

A round (``data/adjudication/round1.jsonl``) holds, per re-read segment, three independent
opinions: the writer's label (what the file said before), a blind annotator's label (someone who
saw only the text and the annotation guide) and the codes a model trained on *other writers'
files* assigned out of fold. A code stays or comes in when at least two of the three chose it.
Its polarity is the writer's when the writer chose the code, else the blind annotator's (the
model vote carries no polarity).

Why three voices: the writer knows what they meant, but 18 writers drew the lines between
neighbouring codes differently; a second reader alone would trade one person's habits for
another's. The majority keeps a label unless two independent sources disagree with it.

    python data/tools/adjudicate.py            # rewrite data/train and data/dev labels
    python data/tools/adjudicate.py --check    # exit 1 if a file disagrees with the round
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1]
ROUNDS = sorted((DATA / "adjudication").glob("round*.jsonl"))
LABELED = [*sorted((DATA / "train").glob("*.jsonl")), *sorted((DATA / "dev").glob("*.jsonl"))]


def decide(writer: dict[str, str], blind: dict[str, str], model: list[str]) -> dict[str, str]:
    """Majority of writer, blind annotator and model per code (see the module docstring)."""
    out: dict[str, str] = {}
    for code in [*writer, *(c for c in blind if c not in writer)]:
        votes = (code in writer) + (code in blind) + (code in model)
        if votes >= 2:
            out[code] = writer.get(code) or blind[code]
    return out


def decisions(rounds: list[Path] = ROUNDS) -> dict[str, dict[str, str]]:
    """Final labels by segment id; a later round overrides an earlier one."""
    final: dict[str, dict[str, str]] = {}
    for path in rounds:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                final[row["id"]] = decide(row["writer"], row["blind"], row["model"])
    return final


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report disagreements")
    args = parser.parse_args()
    final = decisions()
    seen: set[str] = set()
    wrong = 0
    for path in LABELED:
        lines = path.read_text(encoding="utf-8").splitlines()
        changed = False
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            row = json.loads(line)
            if row["id"] not in final:
                continue
            seen.add(row["id"])
            if row["themes"] != final[row["id"]]:
                wrong += 1
                row["themes"] = final[row["id"]]
                lines[i] = json.dumps(row, ensure_ascii=False)
                changed = True
        if changed and not args.check:
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    missing = set(final) - seen
    if missing:
        print(f"{len(missing)} adjudicated ids are in no data file, e.g. {sorted(missing)[:3]}")
        return 1
    verb = "differ from" if args.check else "rewritten to"
    print(f"{len(final)} adjudicated segments; {wrong} labels {verb} the round")
    return 1 if args.check and wrong else 0


if __name__ == "__main__":
    sys.exit(main())
