"""Katta's inequality checked per shape, the calibrated universality scores summarised, and the verdict.

Katta's argument: equal-N shapes reach equal loss (Kaplan), a layer of width m holds n features in
superposition only when m ≳ −n(1−S)ln(1−S), so if every shape held the same (universal) features, the
narrow shapes would need a sparser world than the data's S. Per family (N, data, γ) this module computes

- the premise: is loss equal across the shapes (within seed noise, `summary.loss_flatness`)?
- the bound: for the universal count n_u (the most features any member represents at its last layer), the
  width the bound needs at the data's S, and whether the narrowest member has it ("the bound binds" if not);
  per shape, the sparsity its width implies for n_u features and for its own count, beside the data's S;
- horn 1 (superposition within a layer is complete): every shape holds its own features within the bound;
- horn 2 (universality): across shapes, every calibrated score of the last layer is at least
  UNIVERSAL_LEVEL and not below the across-seed score by more than two standard errors.

The reading names the horn the numbers reject. Standard errors are std over pairs / √(seeds): pairs share
models, so the seeds, not the pairs, are the independent draws.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from superscale.analysis.theory import katta_ratio
from superscale.aspect.calibrated import MEASURES
from superscale.aspect.compressed_sensing import implied_sparsity

__all__ = [
    "FLAT_LIMIT",
    "UNIVERSAL_LEVEL",
    "bound_width",
    "katta_lines",
    "katta_table",
    "reading",
    "score_summary",
    "shape_bounds",
]

GROUP = ["params_budget", "data", "gamma"]
FLAT_LIMIT = 3.0  # ln L spread over its seed std up to which loss counts as equal (summary.loss_flatness)
UNIVERSAL_LEVEL = (
    0.5  # calibrated score from which features count as shared: half way from chance to identical
)


def bound_width(n_features: float, sparsity: float) -> float:
    """−n (1 − S) ln(1 − S): the width the compressed-sensing bound needs for n features at sparsity S."""
    if not 0.0 < sparsity < 1.0:
        return math.nan
    return n_features / katta_ratio(sparsity)


def score_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per (N, data, γ, regime, layer, kind): mean, std and standard error of each calibrated score over pairs
    of different seeds (columns <measure>_{mean,std,se}, n_pairs, n_seeds)."""
    cross = pairs[~pairs["same_seed"]]
    rows = []
    for key, group in cross.groupby([*GROUP, "regime", "layer", "kind"], sort=True):
        n_seeds = len(set(group["seed_a"]) | set(group["seed_b"]))
        row = dict(zip([*GROUP, "regime", "layer", "kind"], key, strict=True))
        row |= {"n_pairs": len(group), "n_seeds": n_seeds}
        for measure in MEASURES:
            values = group[f"{measure}_score"].dropna().to_numpy(dtype=float)
            std = float(values.std(ddof=1)) if values.size > 1 else math.nan
            row |= {
                f"{measure}_mean": float(values.mean()) if values.size else math.nan,
                f"{measure}_std": std,
                f"{measure}_se": std / math.sqrt(n_seeds) if n_seeds else math.nan,
            }
        rows.append(row)
    return pd.DataFrame(rows)


def shape_bounds(runs: pd.DataFrame) -> pd.DataFrame:
    """Per family member (N, data, γ, L, m): features held at the last layer (mean over seeds), the widths
    the bound needs for its own and for the universal count at the data's S, and the sparsities implied."""
    family = runs[runs["kind"] == "family"] if "kind" in runs else runs
    rows = []
    for key, group in family.groupby(GROUP, sort=True):
        means = group.groupby(["n_layers", "m"])[["n_repr_last", "data_sparsity"]].mean()
        n_universal = float(means["n_repr_last"].max())
        for (depth, m), row in means.iterrows():  # type: ignore[misc]
            sparsity = float(row["data_sparsity"])
            own = float(row["n_repr_last"])
            rows.append(
                {
                    **dict(zip(GROUP, key, strict=True)),
                    "n_layers": int(depth),
                    "m": int(m),
                    "n_repr_last": own,
                    "superposition_last": own / m,
                    "data_sparsity": sparsity,
                    "n_universal": n_universal,
                    "bound_own": bound_width(own, sparsity),
                    "bound_universal": bound_width(n_universal, sparsity),
                    "implied_sparsity_own": implied_sparsity(own, m),
                    "implied_sparsity_universal": implied_sparsity(n_universal, m),
                    "within_bound": bool(m >= bound_width(own, sparsity)),
                }
            )
    return pd.DataFrame(rows)


def _universal(scores: pd.DataFrame, key: tuple) -> tuple[bool | None, dict[str, float]]:
    """Horn 2 for one family at its last layer: (verdict or None when no measure can tell, the numbers)."""
    at = scores[(scores[GROUP] == pd.Series(dict(zip(GROUP, key, strict=True)))).all(axis=1)]
    at = at[at["layer"] == "last"].set_index("kind")
    numbers: dict[str, float] = {}
    votes = []
    for measure in MEASURES:
        shape = at.loc["shape"] if "shape" in at.index else None
        seed = at.loc["seed"] if "seed" in at.index else None
        if shape is None:
            continue
        mean, se = float(shape[f"{measure}_mean"]), float(shape[f"{measure}_se"])
        numbers |= {f"{measure}_shape": mean, f"{measure}_shape_se": se}
        if seed is not None:
            numbers |= {f"{measure}_seed": float(seed[f"{measure}_mean"])}
            numbers |= {f"{measure}_seed_se": float(seed[f"{measure}_se"])}
        if math.isnan(mean):
            continue
        below_seeds = False
        if seed is not None and not math.isnan(float(seed[f"{measure}_mean"])):
            gap = float(seed[f"{measure}_mean"]) - mean
            noise = math.hypot(np.nan_to_num(se), np.nan_to_num(float(seed[f"{measure}_se"])))
            below_seeds = gap > 2 * noise
        votes.append(mean >= UNIVERSAL_LEVEL and not below_seeds)
    return (all(votes) if votes else None), numbers


def reading(equal_loss: bool, binds: bool, universal: bool | None, all_within: bool) -> str:
    """Which of Katta's statements the numbers reject (the verdict's label)."""
    if not binds:
        core = "no contradiction: the bound lets every shape hold the universal features"
    elif universal is None:
        core = "undetermined: no universality measure can tell"
    elif universal and not all_within:
        core = (
            "horn 1 fails: universal features exceed the narrow shapes' bound "
            "(superposition within one layer is not the whole account)"
        )
    elif not universal and all_within:
        core = "horn 2 fails: each shape holds its own features within its bound, and they are not universal"
    elif not universal:
        core = "both fail: the features are not universal and the narrow shapes exceed their bound"
    else:
        core = "the measures disagree: scores call the features universal, yet every shape fits its own count"
    if not equal_loss:
        return f"the premise fails (loss is not equal across shapes), so no contradiction is forced; {core}"
    return core


def katta_table(flatness: pd.DataFrame, bounds: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """One row per family (N, data, γ) of `bounds` (`shape_bounds`): the premise from `flatness`
    (`summary.loss_flatness`), the bound, both horns (`score_summary`) and the reading."""
    flat = flatness.set_index(GROUP) if len(flatness) else pd.DataFrame()
    if not len(scores):
        scores = pd.DataFrame(columns=[*GROUP, "layer", "kind"])
    rows = []
    for key, group in bounds.groupby(GROUP, sort=True):
        spread = float(flat.loc[key, "spread_over_noise"]) if key in flat.index else math.nan
        equal_loss = bool(spread <= FLAT_LIMIT)  # NaN (one seed) counts as not shown equal
        narrow = group.loc[group["m"].idxmin()]
        binds = bool(narrow["m"] < narrow["bound_universal"])
        universal, numbers = _universal(scores, key)
        outside = group[~group["within_bound"]]
        all_within = outside.empty
        rows.append(
            {
                **dict(zip(GROUP, key, strict=True)),
                "regime": "strong" if key[2] < 0 else "weak" if key[2] > 0 else "none",
                "data_sparsity": float(group["data_sparsity"].iloc[0]),
                "spread_over_noise": spread,
                "equal_loss": equal_loss,
                "n_universal": float(narrow["n_universal"]),
                "bound_universal": float(narrow["bound_universal"]),
                "m_min": int(narrow["m"]),
                "binds": binds,
                "universal": universal,
                "n_shapes": len(group),
                "n_within": len(group) - len(outside),
                "outside": ", ".join(f"L={r.n_layers},m={r.m}" for r in outside.itertuples()),
                "reading": reading(equal_loss, binds, universal, all_within),
                **numbers,
            }
        )
    return pd.DataFrame(rows)


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def _scores_text(row: pd.Series) -> str:
    parts = []
    for measure in MEASURES:
        shape = row.get(f"{measure}_shape", math.nan)
        if shape is None or (isinstance(shape, float) and math.isnan(shape)):
            parts.append(f"{measure} n/a")
            continue
        text = f"{measure} {_fmt(shape, 2)} ± {_fmt(row.get(f'{measure}_shape_se', math.nan), 1)}"
        seed = row.get(f"{measure}_seed", math.nan)
        if seed is not None and not (isinstance(seed, float) and math.isnan(seed)):
            text += f" (seeds {_fmt(seed, 2)} ± {_fmt(row.get(f'{measure}_seed_se', math.nan), 1)})"
        parts.append(text)
    return "; ".join(parts)


def katta_lines(table: pd.DataFrame) -> list[str]:
    """One sentence per family: the numbers behind the premise, the bound and both horns, and the reading."""
    lines = []
    for _, row in table.iterrows():
        loss = "equal" if row["equal_loss"] else "not equal"
        bound = (
            f"the bound needs m ≥ {_fmt(row['bound_universal'])} for the {_fmt(row['n_universal'])} features "
            f"the best-stocked shape holds at S = {_fmt(row['data_sparsity'], 4)}, and the narrowest shape "
            f"has m = {row['m_min']} ({'binds' if row['binds'] else 'does not bind'})"
        )
        outside = f" (outside: {row['outside']})" if row["outside"] else ""
        universal = {True: "universal", False: "not universal", None: "undetermined"}[row["universal"]]
        lines.append(
            f"Katta's check at N={row['params_budget']} ({row['data']}, γ={row['gamma']:g}, {row['regime']} "
            f"superposition): loss {loss} across shapes (ln L spans {_fmt(row['spread_over_noise'], 2)}× "
            f"its seed std); {bound}; {row['n_within']} of {row['n_shapes']} shapes hold their own features "
            f"within the bound{outside}; calibrated scores across shapes, last layer: {_scores_text(row)} → "
            f"{universal} (criterion: each ≥ {UNIVERSAL_LEVEL:g} and not below seeds by 2 se). "
            f"Verdict: {row['reading']}."
        )
    return lines
