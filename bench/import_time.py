"""Start-up cost of the package and the CLI (issue 13): wall time of fresh processes, best of N.

python bench/import_time.py            # targets: `superscale --help` < 1.5 s, `import superscale` < 1 s
                                       # on an idle 2-core machine; the core loads no matplotlib
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    "superscale --help": [sys.executable, "-c", "from superscale.cli import main; main()", "--help"],
    "import superscale": [sys.executable, "-c", "import superscale"],
    "import superscale.train.engine": [sys.executable, "-c", "import superscale.train.engine"],
}
PROBE = (
    "import sys, superscale.train.engine, superscale.sweep, superscale.analysis.analyze; "
    "print(sorted(m for m in ('matplotlib', 'superscale.plots', 'superscale.report') if m in sys.modules))"
)


def best_wall(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {name: best_wall(command, args.repeats) for name, command in CASES.items()}
    for name, seconds in results.items():
        print(f"{name:<28} {seconds:6.2f} s (best of {args.repeats})")
    loaded = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True)
    print(f"figure stack loaded by the core: {loaded.stdout.strip()}")
    if args.json:
        args.json.write_text(
            json.dumps({"seconds": results, "figure_stack": loaded.stdout.strip()}, indent=2)
        )


if __name__ == "__main__":
    main()
