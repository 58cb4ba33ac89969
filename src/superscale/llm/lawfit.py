"""`superscale fit law`: a parametric scaling law fitted to a table, with bootstrap errors.

The fitter is `superscale.analysis.fit.fit_parametric` (Huber on log loss, L-BFGS from grid starts,
bootstrap over
points, as Hoffmann et al. and Besiroglu et al. 2024); this module only turns a table into its inputs:
pick the law's columns (renamed with `columns`), drop excluded rows (`exclude`, e.g. `N<1e8`,
`model=chinchilla-70b`), fit, and lay the parameters out as a table with standard errors and intervals.
"""

from __future__ import annotations

import math
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
_WORD = re.compile(r"^[^<>=!\s]+$")  # a value to compare with: no operator characters ("m>>5" is no rule)


def _rule_value(rule: str, values: pd.Series, op: str, raw: str) -> tuple[pd.Series, Any]:
    """The column's values and the value of `rule`, both numbers or both text; ValueError naming the rule
    when they cannot be compared (an order on text, a word against numbers, a malformed value)."""
    usage = "e.g. m>5, N<1e8, model=chinchilla-70b"
    if not _WORD.match(raw):
        raise ValueError(f"--exclude {rule!r}: {raw!r} is not a value to compare with ({usage})")
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    try:
        number = float(raw)
    except ValueError:
        number = None
    if number is not None and numeric:
        if math.isnan(number) or (op not in ("=", "!=") and not math.isfinite(number)):
            raise ValueError(f"--exclude {rule!r}: compare with a finite number ({usage})")
        return values, number
    if op not in ("=", "!="):
        what = "column holds text" if not numeric else "value is not a number"
        raise ValueError(f"--exclude {rule!r}: {op} compares numbers, but the {what} ({usage})")
    if numeric:
        raise ValueError(f"--exclude {rule!r}: column {rule.split(op)[0].strip()!r} holds numbers ({usage})")
    return values.astype(str), raw


def excluded_rows(table: pd.DataFrame, rules: Sequence[str]) -> pd.Series:
    """Rows matched by any rule `COLUMN OP VALUE`: OP one of < <= > >= against a number, = != against a
    number or a word (`model=chinchilla-70b`); anything else is refused, naming the rule."""
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
        values, value = _rule_value(rule, table[column], op, raw)
        mask |= _OPS[op](values, value)
    return mask


def _law_columns(law: str, spec: ParametricLaw, columns: Mapping[str, str] | None) -> dict[str, str]:
    """The law's variable → the table column it is read from; a rename of no variable, or two variables
    read from one column (`--column m=loss`: each row counted twice), is refused."""
    variables = (*spec.covariates, "loss")
    unknown = [name for name in columns or {} if name not in variables]
    if unknown:
        raise ValueError(
            f"--column {unknown[0]}=…: the {law} law has no variable {unknown[0]!r} (variables: "
            f"{', '.join(variables)})"
        )
    names = {name: (columns or {}).get(name, name) for name in variables}
    seen: dict[str, str] = {}
    for name, col in names.items():
        if col in seen:
            raise ValueError(
                f"--column: {seen[col]} and {name} would both be read from column {col!r}; "
                "give each variable its own column"
            )
        seen[col] = name
    return names


def _finite_rows(table: pd.DataFrame, keep: pd.Series, names: Mapping[str, str], law: str) -> pd.DataFrame:
    """The law's columns of the rows in `keep` as numbers, rows with a missing value dropped; a value that
    is there but is no finite number (inf, text) is refused with its row: it cannot be a measurement."""
    cols = list(names.values())
    raw = table[cols]
    numbers = raw.apply(pd.to_numeric, errors="coerce")
    bad = ((numbers.isna() & raw.notna()) | np.isinf(numbers.fillna(0.0))) & keep.to_numpy()[:, None]
    flags = bad.to_numpy()
    if flags.any():
        row, at = (int(i) for i in np.argwhere(flags)[0])
        raise ValueError(
            f"data row {row + 1} of the table: {cols[at]} = {raw.iat[row, at]} is not a finite number; the "
            f"{law} law needs finite {', '.join(cols)} (fix the row or --exclude it)"
        )
    return numbers[keep.to_numpy()].dropna()


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
    names = _law_columns(law, spec, columns)
    missing = [col for col in names.values() if col not in table.columns]
    if missing:
        raise ValueError(
            f"the {law} law needs columns {list(names.values())}; missing {missing} "
            f"(columns: {', '.join(map(str, table.columns))}; rename with --column N=params)"
        )
    dropped = excluded_rows(table, exclude)
    kept = _finite_rows(table, ~dropped, names, law)
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
