"""`superscale fit law`: a parametric scaling law fitted to a table, with bootstrap errors.

The fitter is `superscale.analysis.fit.fit_parametric` (Huber on log loss, L-BFGS from grid starts,
bootstrap over
points, as Hoffmann et al. and Besiroglu et al. 2024); this module only turns a table into its inputs:
pick the law's columns (renamed with `columns`), drop excluded rows (`exclude`, e.g. `N<1e8`,
`model=chinchilla-70b`), fit, and lay the parameters out as a table with standard errors and intervals.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from superscale.analysis.fit import CHINCHILLA_LAW, WIDTH_LAW, ParametricFit, ParametricLaw, fit_parametric

LAWS: dict[str, ParametricLaw] = {"chinchilla": CHINCHILLA_LAW, "width": WIDTH_LAW}
_OPS = {"<=": operator.le, ">=": operator.ge, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
        "=": operator.eq}  # fmt: skip
_RULE = re.compile(r"^\s*([^<>=!]+?)\s*(<=|>=|!=|<|>|=)\s*(.+?)\s*$")


def excluded_rows(table: pd.DataFrame, rules: Sequence[str]) -> pd.Series:
    """Rows matched by any rule `COLUMN OP VALUE` (OP one of < <= > >= = !=; numbers compare as numbers)."""
    mask = pd.Series(False, index=table.index)
    for rule in rules:
        match = _RULE.match(rule)
        if match is None:
            raise ValueError(f"--exclude {rule!r} is not COLUMN<VALUE, COLUMN=VALUE, … (ops < <= > >= = !=)")
        column, op, raw = match.groups()
        if column not in table.columns:
            raise ValueError(
                f"--exclude {rule!r}: no column {column!r} (columns: {', '.join(table.columns)})"
            )
        values = table[column]
        try:
            value: Any = float(raw)
            values = pd.to_numeric(values)
        except ValueError:
            value, values = raw, values.astype(str)
        mask |= _OPS[op](values, value)
    return mask


def fit_law_table(
    table: pd.DataFrame,
    law: str,
    columns: Mapping[str, str] | None = None,
    exclude: Sequence[str] = (),
    n_bootstrap: int = 100,
    seed: int = 0,
) -> tuple[ParametricFit, int]:
    """Fit `law` (chinchilla: loss vs N, D; width: loss vs m) to `table`; also return the rows excluded."""
    if law not in LAWS:
        raise ValueError(f"law must be one of {sorted(LAWS)}, got {law!r}")
    spec = LAWS[law]
    names = {name: (columns or {}).get(name, name) for name in (*spec.covariates, "loss")}
    missing = [col for col in names.values() if col not in table.columns]
    if missing:
        raise ValueError(
            f"the {law} law needs columns {list(names.values())}; missing {missing} "
            f"(columns: {', '.join(map(str, table.columns))}; rename with --column N=params)"
        )
    dropped = excluded_rows(table, exclude)
    kept = table.loc[~dropped, list(names.values())].apply(pd.to_numeric, errors="coerce").dropna()
    n_params = len(spec.params)
    if len(kept) <= n_params:
        raise ValueError(f"{len(kept)} usable rows left; the {law} law has {n_params} parameters")
    fit = fit_parametric(
        spec,
        {name: kept[col].to_numpy() for name, col in names.items() if name != "loss"},
        kept[names["loss"]].to_numpy(),
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    return fit, int(dropped.sum())


def parameter_frame(fit: ParametricFit) -> pd.DataFrame:
    """One row per parameter: coefficients as exp(log-coefficient) with their intervals mapped by exp
    (exact for quantiles), the bootstrap SE of the log-coefficient; exponents as they are."""
    rows = []
    for name, value in fit.params.items():
        is_coef = name.upper() in fit.coefficients
        scale = np.exp if is_coef else (lambda x: x)
        rows.append(
            {
                "parameter": name.upper() if is_coef else name,
                "value": float(scale(value)),
                "bootstrap_se": fit.params_se[name],
                "se_of": f"ln {name.upper()}" if is_coef else name,
                "ci_low": float(scale(fit.params_ci_low[name])),
                "ci_high": float(scale(fit.params_ci_high[name])),
            }
        )
    frame = pd.DataFrame(rows)
    frame.attrs["confidence"] = fit.confidence
    return frame
