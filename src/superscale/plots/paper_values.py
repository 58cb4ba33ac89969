"""The numbers Liu, Liu & Gore (arXiv 2505.10465 v4) publish, in one place (its figures and their text).

Figures mark these and the report's table sets them beside our fits. Values "read from the plot" in the
spec are flagged approximate so a reader never mistakes a digitised bar for a printed number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

PAPER = "Liu et al. 2025"


@dataclass(frozen=True)
class PaperValue:
    """One published number with its error (None when the paper gives none) and where it comes from.

    A range ("α_m ≈ 0.8–1.1") sets `low` and `high`; `value` is then its midpoint.
    """

    value: float
    error: float | None
    source: str  # "Fig. 1d", ...
    approximate: bool = False  # True when read off a plot rather than printed
    low: float | None = None
    high: float | None = None

    @classmethod
    def span(cls, low: float, high: float, source: str, approximate: bool = True) -> PaperValue:
        """A range the paper gives (low ≤ high), e.g. `PaperValue.span(0.8, 1.1, "Fig. 5e")`."""
        if not low <= high:
            raise ValueError(f"a paper range needs low <= high, got {low} and {high}")
        return cls((low + high) / 2, None, source, approximate, low, high)

    @property
    def is_range(self) -> bool:
        return self.low is not None and self.high is not None

    def text(self) -> str:
        """'1.01 ± 0.05 (Fig. 1d)', '≈ 0.985 (Fig. 9a, read from plot)' or '≈ 0.8–1.1 (Fig. 5e, ...)'."""
        from superscale.plots.style import fmt, fmt_pm

        if self.low is not None and self.high is not None:
            number = f"{fmt(self.low)}–{fmt(self.high)}"
        else:
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

# Fig. 6 and App. D.7: LLM width exponent and the fitted coefficient
LLM_EXPONENT = PaperValue(0.91, 0.04, "Fig. 6b")
LLM_COEFFICIENT = 476.08  # A = C_m of the notebook fit
LLM_FIT_MSE = 0.0051977

# Fig. 23 and its text: parameters vs width, and the Chinchilla estimate α_m = 2.52 α_N
OPEN_FAMILIES_N_EXPONENT = PaperValue(2.51, None, "Fig. 23a")
CHINCHILLA_N_EXPONENT = PaperValue(2.52, 0.03, "Fig. 23b")
CHINCHILLA_ALPHA_N = PaperValue(0.35, 0.02, "Besiroglu et al. 2024, as the paper quotes it")
CHINCHILLA_ALPHA_M = PaperValue(0.88, 0.06, "the paper's Chinchilla estimate")

# Fig. 3b: φ_{1/2} = 1 for γ ≤ −0.56 at every m, transition near γ ≈ 0 to 0.1 (repo figure)
PHI_HALF_FULL_BELOW_GAMMA = -0.56

# --- α_m by experiment, regime, α and γ (looked up by `paper_exponent`) --------------------------------
# Fig. 5e (read from the plot; the authors' published figure): strong α_m ≈ 0.8–1.1 for α ≲ 1.25; at α = 2,
# ≈ 2.05 for γ = −1 and ≈ 2.2–2.3 for γ ≈ −0.8 … −0.3. The panel draws γ ≤ −0.33 only, so γ in (−0.3, 0)
# gets no number (Fig. 9b shows those cases only as a colour).
STRONG_FLAT = PaperValue.span(*STRONG_SMALL_ALPHA_BAND, "Fig. 5e")
STRONG_ALPHA2_GAMMA_MINUS1 = PaperValue(2.05, None, "Fig. 5e", approximate=True)
STRONG_ALPHA2_MID_GAMMA = PaperValue.span(2.2, 2.3, "Fig. 5e")
FIG5E_GAMMA_MAX = -0.3  # Fig. 5e's γ: −1 and the 2nd–4th smallest of the grid (−0.78, −0.56, −0.33)
FIG5E_MID_GAMMA = (-0.8, -0.3)  # "γ ≈ −0.8 … −0.3" of the α = 2 read-off
# Figs. 4b and 5e: weak (γ > 0) α_m ≈ α − 1 for α > 1; the weak points at α = 2 sit at ≈ 0.95–1.1
WEAK_ALPHA2 = PaperValue.span(0.95, 1.1, "Figs. 4b, 5e")
WEAK_SOURCE = "Fig. 4b: α − 1"
# Fig. 18 (E4, m = 50–150 so that m²/2 > n): strong α_m stays ≈ 1 for α < 1.5
WIDE_FLAT = PaperValue(1.0, None, "Fig. 18", approximate=True)
WIDE_FLAT_ALPHA_MAX = 1.5
# Fig. 14b's five values are at five E the paper does not name; α_m is flat in E (Fig. 15), so the level
# they measure is their inverse-variance weighted mean
_DENSITY_WEIGHTS = [1 / (v.error or math.inf) ** 2 for v in DENSITY_EXPONENTS]
DENSITY_LEVEL = PaperValue(
    round(
        sum(w * v.value for w, v in zip(_DENSITY_WEIGHTS, DENSITY_EXPONENTS, strict=True))
        / sum(_DENSITY_WEIGHTS),
        3,
    ),
    round(1 / math.sqrt(sum(_DENSITY_WEIGHTS)), 3),
    "Fig. 14b, weighted mean of its five E",
)
FLAT_IN_E = PaperValue(0.0, None, "Fig. 15: α_m flat in E", approximate=True)  # change of α_m per unit E
LARGE_N = 10240  # E1's n; the exponential family's scale 400 is quoted at this n
LARGE_STRONG_GAMMA = -1.0
EXPERIMENTS = ("E1", "E2", "E3", "E4", "LLM")


def paper_exponent(
    experiment: str,
    regime: str,
    alpha: float = math.nan,
    gamma: float = math.nan,
    *,
    family: str = "power",
    scale: float = math.nan,
    n: float = math.nan,
) -> PaperValue | None:
    """The α_m the paper publishes for one case, or None where it gives no number.

    experiment: "E1" (large models), "E2" (α scan), "E3" (density scan), "E4" (wide models) or "LLM";
    regime: "strong" or "weak". E1 needs the frequency family (and, for "exponential", the scale τ and n:
    τ = 400 at n = 10240, or the same τ/n at another n, is the paper's distribution shape).
    """
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {EXPERIMENTS}, got {experiment!r}")
    if regime not in ("strong", "weak"):
        raise ValueError(f"regime must be 'strong' or 'weak', got {regime!r}")
    if experiment == "LLM":
        return LLM_EXPONENT
    strong = regime == "strong"
    if experiment == "E1":
        if not strong or not math.isclose(gamma, LARGE_STRONG_GAMMA):
            return None
        return STRONG_LARGE_EXPONENT.get(family) if is_large_family(family, alpha, scale, n) else None
    if family != "power":
        return None
    if experiment == "E3":
        return DENSITY_LEVEL if strong and math.isclose(alpha, 1.0) else None
    if experiment == "E4":
        return WIDE_FLAT if strong and alpha < WIDE_FLAT_ALPHA_MAX else None
    if strong:  # E2
        if not gamma <= FIG5E_GAMMA_MAX:
            return None
        if alpha <= STRONG_SMALL_ALPHA_MAX:
            return STRONG_FLAT
        if math.isclose(alpha, 2.0):
            if math.isclose(gamma, -1.0):
                return STRONG_ALPHA2_GAMMA_MINUS1
            if FIG5E_MID_GAMMA[0] <= gamma <= FIG5E_MID_GAMMA[1]:
                return STRONG_ALPHA2_MID_GAMMA
        return None
    if not gamma > 0 or not alpha > 1:
        return None
    if math.isclose(alpha, 2.0):
        return WEAK_ALPHA2
    return PaperValue(round(alpha - 1, 6), None, WEAK_SOURCE, approximate=True)


def is_large_family(
    family: str, alpha: float = math.nan, scale: float = math.nan, n: float = math.nan
) -> bool:
    """One of E1's three frequency families (power α = 1.2, exponential τ = 400 at n = 10240 or the same
    τ/n, linear), the ones Figs. 1d and 9a give numbers for."""
    if family == "power":
        return math.isclose(alpha, LARGE_POWER_ALPHA)
    if family == "exponential":
        if math.isclose(scale, LARGE_EXPONENTIAL_SCALE):
            return True
        return math.isfinite(n) and math.isclose(scale / n, LARGE_EXPONENTIAL_SCALE / LARGE_N, rel_tol=1e-3)
    return family == "linear"


# --- the training recipes (the paper's text, and the authors' scripts where the text is silent) ---------
@dataclass(frozen=True)
class LRRule:
    """Peak learning rate base · (ref_m / m) ** power, as the authors' scripts set it."""

    base: float
    ref_m: float = 1.0
    power: float = 0.0

    def at(self, m: float) -> float:
        return self.base * (self.ref_m / m) ** self.power

    def text(self) -> str:
        from superscale.plots.style import fmt

        if self.power == 0:
            return f"{self.base:g}"
        if self.power == 1 and self.ref_m == 1:
            return f"{self.base:g}/m"
        return f"{self.base:g}·({fmt(self.ref_m)}/m)^{self.power:g}"


@dataclass(frozen=True)
class PaperRecipe:
    """How the paper trains one toy experiment; a store is compared with it quantity by quantity."""

    experiment: str
    source: str
    n: int
    widths: tuple[int, ...] | None  # None: the paper does not list them
    batch: int
    steps: int
    warmup_steps: int | None  # exactly one of warmup_steps / warmup_fraction is set
    warmup_fraction: float | None
    lr_floor: float
    lr_W: LRRule
    lr_b: LRRule
    loss_scale: float  # backward multiplier (E1's script: 100)


_E2 = PaperRecipe(
    "E2",
    "Figs. 3–5 setup; the authors' exp-10.py",
    n=1000,
    widths=(10, 15, 25, 39, 63, 100),
    batch=2048,
    steps=20000,
    warmup_steps=2000,
    warmup_fraction=None,
    lr_floor=0.05,
    lr_W=LRRule(1e-2),
    lr_b=LRRule(1e-2),  # b follows W's rule in the small-model scripts
    loss_scale=1.0,
)
RECIPES: dict[str, PaperRecipe] = {
    "E1": PaperRecipe(
        "E1",
        "Fig. 1 setup; the authors' exp-17.py",
        n=LARGE_N,
        widths=(8, 16, 32, 64, 128, 256, 512, 1024),
        batch=2048,
        steps=20000,
        warmup_steps=None,
        warmup_fraction=0.05,
        lr_floor=0.05,
        lr_W=LRRule(0.02, 8.0, 0.25),
        lr_b=LRRule(2.0, 1.0, 1.0),
        loss_scale=100.0,
    ),
    "E2": _E2,
    "E3": replace(_E2, experiment="E3", source="Figs. 14–15 setup; the authors' exp-15.py"),
    "E4": replace(_E2, experiment="E4", source="Fig. 18: the E2 setup with m from 50 to 150", widths=None),
}
