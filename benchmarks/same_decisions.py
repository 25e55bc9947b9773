"""Do two `--no-ui` outputs make the same trading decisions? Every line but the `candle` and `score` lines
(and the summary's `printed` counts) must be the same, in order, and the second's `candle`/`score` lines
must all be among the first's: the check for a change that only drops signal traffic (issue 16's silent
warm-up of the REST history).

    (cd <before> && python -m app --no-ui --speed max > /tmp/before.jsonl)
    python -m app --no-ui --speed max > /tmp/after.jsonl
    python benchmarks/same_decisions.py /tmp/before.jsonl /tmp/after.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SIGNALS = ("candle", "score")


def _lines(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(text) for text in path.read_text().splitlines()]
    for line in lines:
        if line["kind"] == "summary":
            line.pop("printed")
    return lines


def main(before: Path, after: Path) -> int:
    old, new = _lines(before), _lines(after)
    decisions = [[line for line in lines if line["kind"] not in SIGNALS] for lines in (old, new)]
    old_signals = {json.dumps(line, sort_keys=True) for line in old if line["kind"] in SIGNALS}
    new_signals = [line for line in new if line["kind"] in SIGNALS]
    extra = [line for line in new_signals if json.dumps(line, sort_keys=True) not in old_signals]
    same = decisions[0] == decisions[1] and not extra
    print(f"decision lines {len(decisions[0])} -> {len(decisions[1])}, identical: {decisions[0] == decisions[1]}; "
          f"candle/score lines {len(old) - len(decisions[0])} -> {len(new_signals)}, new ones: {len(extra)}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
