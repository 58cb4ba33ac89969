"""Scaling-law fits with honest error bars: log–log slopes, offset power laws, shared exponents, laws."""

from __future__ import annotations

from superscale.analysis.fit.loglog import (
    LineFit,
    LogLogFit,
    SharedSlopeFit,
    fit_line,
    fit_log_slope,
    fit_loglog,
    fit_shared_log_slope,
)
from superscale.analysis.fit.offset import PowerLawOffsetFit, fit_power_law_offset
from superscale.analysis.fit.parametric import (
    CHINCHILLA_LAW,
    WIDTH_LAW,
    ParametricFit,
    ParametricLaw,
    PowerTerm,
    fit_parametric,
)
from superscale.analysis.fit.shared import GroupExponent, SharedExponentFit, fit_shared_exponent
from superscale.config.window import FitWindow

__all__ = [
    "CHINCHILLA_LAW",
    "WIDTH_LAW",
    "FitWindow",
    "GroupExponent",
    "LineFit",
    "LogLogFit",
    "ParametricFit",
    "ParametricLaw",
    "PowerLawOffsetFit",
    "PowerTerm",
    "SharedExponentFit",
    "SharedSlopeFit",
    "fit_line",
    "fit_log_slope",
    "fit_loglog",
    "fit_parametric",
    "fit_power_law_offset",
    "fit_shared_exponent",
    "fit_shared_log_slope",
]
