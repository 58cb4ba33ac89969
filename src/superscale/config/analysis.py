"""The [analysis] table: which widths each α_m fit uses (window rules; outside the config hash, so a
changed rule refits and never retrains)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from superscale.config.fields import _Strict
from superscale.config.window import FitWindow


class WindowRule(_Strict):
    """The widths the α_m fits of matching groups use (the paper fits its large models in windows).

    Selectors: `family` and `regime` ("strong": γ < 0, "weak": γ > 0), None matching any. Window: keep
    m_min ≤ m ≤ m_max, start at the `start`-th width (0-based, the authors' notebook's `starts`), keep the
    `last` k widths; every field unset means all widths.
    """

    family: Literal["power", "exponential", "linear", "custom"] | None = None
    regime: Literal["strong", "weak"] | None = None
    start: int = Field(default=0, ge=0)
    last: int | None = Field(default=None, ge=1)
    m_min: float | None = Field(default=None, gt=0)
    m_max: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _range(self) -> WindowRule:
        if self.m_min is not None and self.m_max is not None and self.m_min > self.m_max:
            raise ValueError(f"m_min ({self.m_min:g}) is larger than m_max ({self.m_max:g}): no width fits")
        return self

    def matches(self, family: str, gamma: float) -> bool:
        if self.family is not None and family != self.family:
            return False
        return self.regime is None or (gamma < 0 if self.regime == "strong" else gamma > 0)

    def window(self) -> FitWindow:
        return FitWindow(m_min=self.m_min, m_max=self.m_max, skip_first=self.start, last=self.last)


class AnalysisConfig(_Strict):
    """How `superscale analyze` fits α_m: window rules, the first matching one applies to a group.

    Every group gets its all-width fit as well (fit_scope "all"); a group no rule matches gets the
    all-width fit as its "recipe" fit too.
    """

    windows: list[WindowRule] = Field(default_factory=list)

    def window_for(self, family: str, gamma: float) -> FitWindow | None:
        """The window of the first rule matching (family, γ), None if no rule does."""
        rule = next((r for r in self.windows if r.matches(family, gamma)), None)
        return None if rule is None else rule.window()
