"""The numbers Liu, Liu & Gore (arXiv 2505.10465 v4) publish, in one place (PAPER_SPEC §4, §5).

Figures mark these and the report's table sets them beside our fits. Values "read from the plot" in the
spec are flagged approximate so a reader never mistakes a digitised bar for a printed number.
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER = "Liu et al. 2025"


@dataclass(frozen=True)
class PaperValue:
    """One published number with its error (None when the paper gives none) and where it comes from."""

    value: float
    error: float | None
    source: str  # "Fig. 1d", ...
    approximate: bool = False  # True when read off a plot rather than printed

    def text(self) -> str:
        """'1.01 ± 0.05 (Fig. 1d)' or '≈ 0.985 (Fig. 9a, read from plot)'."""
        from superscale.plots.style import fmt, fmt_pm

        number = fmt_pm(self.value, self.error, significant=1) if self.error else fmt(self.value)
        prefix = "≈ " if self.approximate else ""
        suffix = ", read from plot" if self.approximate else ""
        return f"{prefix}{number} ({self.source}{suffix})"


# Fig. 1d: strong-regime (γ = −1) α_m of the large models (n = 10240), keyed by family
STRONG_LARGE_EXPONENT: dict[str, PaperValue] = {
    "exponential": PaperValue(1.01, 0.05, "Fig. 1d"),
    "power": PaperValue(1.0, 0.1, "Fig. 1d"),
    "linear": PaperValue(0.89, 0.05, "Fig. 1d"),
}
# parameters of the large-model families the Fig. 1 numbers belong to
LARGE_POWER_ALPHA = 1.2
LARGE_EXPONENTIAL_SCALE = 400.0

# Fig. 9a: R² of the log–log fits (read from the bar chart), keyed by (regime, family)
R2_LARGE: dict[tuple[str, str], PaperValue] = {
    ("strong", "exponential"): PaperValue(0.985, None, "Fig. 9a", approximate=True),
    ("strong", "power"): PaperValue(0.965, None, "Fig. 9a", approximate=True),
    ("strong", "linear"): PaperValue(0.987, None, "Fig. 9a", approximate=True),
    ("weak", "exponential"): PaperValue(0.80, None, "Fig. 9a", approximate=True),
    ("weak", "power"): PaperValue(0.99, None, "Fig. 9a", approximate=True),
    ("weak", "linear"): PaperValue(0.87, None, "Fig. 9a", approximate=True),
}

# Fig. 14b: strong-regime α_m at five activation densities, in order of increasing E (which E is unstated)
DENSITY_EXPONENTS: tuple[PaperValue, ...] = (
    PaperValue(1.12, 0.06, "Fig. 14b"),
    PaperValue(1.12, 0.08, "Fig. 14b"),
    PaperValue(1.1, 0.1, "Fig. 14b"),
    PaperValue(1.1, 0.1, "Fig. 14b"),
    PaperValue(1.1, 0.2, "Fig. 14b"),
)

# Fig. 5e: the strong regime's α_m ≈ 0.8–1.1 for α ≲ 1.25 and ≈ 2–2.3 at α = 2 (read from the plot)
STRONG_SMALL_ALPHA_BAND = (0.8, 1.1)
STRONG_SMALL_ALPHA_MAX = 1.25
STRONG_ALPHA2_BAND = (2.0, 2.3)
# Fig. 9b regime boxes: α ≲ 1.2 gives α_m ≈ 1, α ≳ 1.6 gives α_m rising to ≈ 2.3 (γ < 0)
REGIME_ALPHA_LOW = 1.2
REGIME_ALPHA_HIGH = 1.6

# Fig. 6 and §5.5: LLM width exponent and the fitted coefficient
LLM_EXPONENT = PaperValue(0.91, 0.04, "Fig. 6b")
LLM_COEFFICIENT = 476.08  # A = C_m of the notebook fit
LLM_FIT_MSE = 0.0051977

# Fig. 23 and §5.7: parameters vs width
OPEN_FAMILIES_N_EXPONENT = PaperValue(2.51, None, "Fig. 23a")
CHINCHILLA_N_EXPONENT = PaperValue(2.52, 0.03, "Fig. 23b")
CHINCHILLA_ALPHA_N = PaperValue(0.35, 0.02, "§5.7 (Besiroglu et al. 2024)")
CHINCHILLA_ALPHA_M = PaperValue(0.88, 0.06, "§5.7")

# Fig. 3b: φ_{1/2} = 1 for γ ≤ −0.56 at every m, transition near γ ≈ 0 to 0.1 (repo figure)
PHI_HALF_FULL_BELOW_GAMMA = -0.56
