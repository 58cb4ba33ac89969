"""Redraw the figures the README and docs/results.md show, from the committed paper-recipe store.

    python docs/figures/draw.py          # from the repository root; writes docs/figures/*.png
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

import superscale

HERE = Path(__file__).resolve().parent
STORE = HERE.parent / "results" / "paper-e2-recipe"


def main() -> None:
    store = superscale.open_store(STORE)
    hero = Figure(figsize=(12.4, 4.6), layout="constrained")
    left, right = hero.subplots(1, 2)
    store.figure("fig1d", ax=left)  # loss against width: a power law in strong superposition
    store.figure("fig5e", ax=right)  # its exponent α_m against the data exponent α
    hero.savefig(HERE / "hero.png", dpi=100)
    for name in ("fig5e", "fig1d", "fig17"):
        store.figure(name).savefig(HERE / f"{name}.png", dpi=100)


if __name__ == "__main__":
    main()
