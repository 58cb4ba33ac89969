"""The settings the paper's figures are drawn at (docs/recipe.md §1.7, §4): γ, α, m per figure.

Figures draw these where the store has them, and otherwise the nearest value it has, saying in the caption
which value stands in for which (`captions.Choice`). The published *results* live in `paper_values`.
"""

from __future__ import annotations

# E2/E3 γ grid: linspace(−1, 1, 10) = −1, −0.7778, −0.5556, −0.3333, −0.1111, 0.1111, …, 1 (no γ = 0);
# the paper's "γ = −0.78" is −0.7778 and its "±0.55" is ±0.5556
SMALL_GAMMA_GRID: tuple[float, ...] = tuple(-1.0 + 2.0 * i / 9 for i in range(10))

LARGE_WEAK_GAMMA = 0.1  # E1 weak regime (Figs. 1b, 7, 8)
LARGE_STRONG_GAMMA = -1.0  # E1 strong regime (Figs. 1d, 7, 8, 9a)

FIG3A_WEAK_GAMMA = 1.0  # Fig. 3a: γ = +1 beside γ = −1, at α = 1 and m = 100
FIG3A_STRONG_GAMMA = -1.0
FIG3A_ALPHA = 1.0
FIG3A_M = 100.0
FIG3B_ALPHA = 1.0  # Fig. 3b: φ_{1/2} vs γ at α = 1

FIG5A_GAMMA = SMALL_GAMMA_GRID[1]  # Figs. 5a, 5b: γ = −0.78, α = 1, m = 15
FIG5A_ALPHA = 1.0
FIG5A_M = 15.0
FIG5C_GAMMA = SMALL_GAMMA_GRID[2]  # Fig. 5c: γ = −0.56
FIG5E_GAMMAS = SMALL_GAMMA_GRID[1:4]  # Fig. 5e: the 2nd–4th smallest γ: −0.78, −0.56, −0.33
N_LOW_AMBIGUITY = 9  # Fig. 4b keeps the 9 (γ, α) cases with the smallest max-over-m ambiguity

STRONG_SMALL_GAMMA = -1.0  # Figs. 16, 17: γ = −1
FIG14A_M = 63.0  # Fig. 14a: m = 63
FIG14_ALPHA = 1.0  # E3 runs at α = 1
N_DENSITIES_SHOWN = 5  # Fig. 14b shows 5 of the 9 densities
