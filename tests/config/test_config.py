"""Sweep configs: validation errors name the field and value, TOML round-trips, presets match the paper."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from superscale.config import (
    SweepConfig,
    config_hash,
    dump_toml,
    load_config,
    parse_config,
    parse_config_text,
)
from superscale.config.grid import expand_runs
from superscale.config.presets import list_presets, load_preset, preset_text
from superscale.sweep import run_sweep

#: each experiment of the paper at its recipe, and the shrunk preset that smoke-tests it
PAPER_PRESETS = {
    "paper-e1-large": "paper-e1-large-quick",
    "paper-e2-full": "paper-e2-alpha-quick",
    "paper-e3-full": "paper-e3-density-quick",
    "paper-e4-wide": "paper-e4-wide-quick",
}


@pytest.mark.parametrize(
    ("raw", "path", "value"),
    [
        ({"m": [3, -1]}, "m", "-1"),
        ({"n": 1.5}, "n", "1.5"),
        ({"gamma": [0.1, "x"]}, "gamma[1]", "'x'"),
        ({"train": {"batchh": 3}}, "train.batchh", "3"),
        ({"train": {"steps": 0}}, "train.steps", "0"),
        ({"train": {"lr_floor": 2.0}}, "train.lr_floor", "2.0"),
        ({"data": {"alpha": "steep"}}, "data.alpha", "'steep'"),
        ({"data": {"family": "zipf"}}, "data.family", "'zipf'"),
        ({"data": {"density_knob": [0.5, 1.5]}}, "data.density_knob", "1.5"),
        ({"data": [{"family": "linear"}, {"family": "exponential", "scale": -4}]}, "data[1].scale", "-4"),
        ({"lr": {"W": {"base": -0.01}}}, "lr.W.base", "-0.01"),
        ({"execution": {"device": "tpu"}}, "execution.device", "'tpu'"),
        ({"train": {"warmup_fraction": 1.0}}, "train.warmup_fraction", "1.0"),
        ({"analysis": {"windows": [{"family": "power", "strat": 2}]}}, "analysis.windows[0].strat", "2"),
        ({"analysis": {"windows": [{}, {"regime": "mild"}]}}, "analysis.windows[1].regime", "'mild'"),
        ({"analysis": {"windows": [{"start": -1}]}}, "analysis.windows[0].start", "-1"),
        ({"analysis": {"windows": [{"last": 0}]}}, "analysis.windows[0].last", "0"),
        ({"analysis": {"windws": []}}, "analysis.windws", "[]"),
    ],
)
def test_errors_name_field_path_and_value(raw: dict, path: str, value: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_config(raw)
    message = str(info.value)
    # one mistake is one line ("invalid sweep config: path: …"), several are one line each
    assert f"invalid sweep config: {path}: " in message or f"\n  {path}: " in message
    assert value in message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"data": {"family": "exponential"}}, "needs `scale`"),
        ({"data": {"family": "linear", "alpha": 1.0}}, "`alpha` does not apply to family 'linear'"),
        ({"data": {"density": 2.0, "density_knob": 0.5}}, "either `density` or `density_knob`"),
        ({"data": {"family": "custom"}}, "exactly one of `values` or `path`"),
        ({"n": 3, "data": {"family": "custom", "values": [0.5, 0.2]}}, "has 2 probabilities but n = 3"),
        ({"train": {"warmup_steps": 10, "warmup_fraction": 0.1}}, "either `warmup_steps` or"),
        ({"train": {"steps": 50, "warmup_steps": 50}}, "must be < steps"),
        ({"train": {"steps": [100, 40], "warmup_steps": 50}}, "`warmup_steps` (50) must be < steps (40)"),
    ],
)
def test_cross_field_errors(raw: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match="invalid sweep config") as info:
        parse_config(raw)
    assert fragment in str(info.value)


def test_bad_config_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "store"
    with pytest.raises(ValueError, match=r"train\.steps"):
        run_sweep({"train": {"steps": -5}}, out)
    # a config that validates but cannot be trained (p_1 > 1 at this density) also fails before writing
    with pytest.raises(ValueError, match="p_1"):
        run_sweep({"n": 10, "data": {"density": 9.0}}, out)
    with pytest.raises(ValueError, match="unknown architecture"):
        run_sweep({"model": {"architecture": "nope"}}, out)
    assert not out.exists()


def test_defaults_are_resolved_and_small() -> None:
    config = parse_config({})
    assert config.data_list[0].alpha == 1.0 and config.data_list[0].density == 1.0
    assert config.lr.b == config.lr.W  # small-model recipe: b shares W's rule
    assert config.train.warmup_fraction == 0.1
    runs = expand_runs(config)
    assert len(runs) == 6 and {r.warmup_steps for r in runs} == {50}


def test_toml_round_trip_is_exact(tmp_path: Path) -> None:
    raw = {
        "name": 'rt "quoted" ünï',
        "gamma": [-1.0, 0.1111111111111111, 1e-9],
        "data": [
            {"family": "power", "alpha": [0.125, 1.0]},
            {"family": "exponential", "scale": 400},
            {"family": "custom", "values": [0.5, 0.25, 0.125]},
        ],
        "n": 3,
        "m": 2,
        "model": {"options": {}},
        "lr": {"W": {"base": 0.02, "ref_m": 8, "power": 0.25}},
        "train": {"warmup_steps": 7, "sparse": False},
        "analysis": {
            "windows": [
                {"family": "power", "regime": "strong", "start": 2},
                {"regime": "weak", "last": 5, "m_min": 16.0},
                {"family": "exponential"},
            ]
        },
    }
    config = parse_config(raw)
    text = dump_toml(config, header="a header\n\nline")
    assert text.startswith("# a header\n#\n# line\n")
    again = parse_config_text(text)
    assert again == config
    assert config_hash(again) == config_hash(config)
    assert "[[analysis.windows]]" in text and again.analysis.windows[1].last == 5
    assert [r.model_dump(exclude_defaults=True) for r in again.analysis.windows] == raw["analysis"]["windows"]


def test_custom_path_is_inlined(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("0.5, 0.25\n0.125\n")
    (tmp_path / "sweep.toml").write_text('n = 3\nm = 2\n[data]\nfamily = "custom"\npath = "p.txt"\n')
    config = load_config(tmp_path / "sweep.toml")
    assert config.data_list[0].values == [0.5, 0.25, 0.125]
    assert config.data_list[0].path is None  # the stored config does not depend on the file any more


def test_hash_ignores_execution_and_meta_only() -> None:
    base = parse_config({})
    assert config_hash(base) == config_hash(parse_config({"execution": {"device": "cpu", "threads": 3}}))
    assert config_hash(base) == config_hash(parse_config({"meta": {"description": "x"}}))
    assert config_hash(base) != config_hash(parse_config({"train": {"steps": 501}}))
    assert config_hash(base) != config_hash(parse_config({"output": {"max_models_per_shard": 7}}))
    # fit windows change what `analyze` derives, never what was trained: a new window must not retrain
    windows = {"analysis": {"windows": [{"family": "power", "regime": "strong", "start": 2}]}}
    assert config_hash(base) == config_hash(parse_config(windows))


def test_a_window_rule_selects_by_family_and_regime() -> None:
    rules = parse_config(
        {
            "analysis": {
                "windows": [
                    {"family": "power", "regime": "strong", "start": 2},
                    {"regime": "weak", "last": 1},
                ]
            }
        }
    ).analysis
    m = np.array([8.0, 16, 32, 64, 8, 16])
    assert m[rules.window_for("power", -1.0).mask(m)].tolist() == [32.0, 64.0]  # from the 3rd width
    assert m[rules.window_for("linear", 0.1).mask(m)].tolist() == [64.0]  # first match: the weak rule
    assert rules.window_for("linear", -1.0) is None  # no rule: the all-width fit is the recipe fit
    assert rules.window_for("power", 0.0) is None  # γ = 0 is neither strong nor weak


@pytest.mark.parametrize(
    ("preset", "widths"),
    [
        ("paper-e1-large", [8, 16, 32, 64, 128, 256, 512, 1024]),
        ("paper-e1-large-quick", [8, 16, 32, 64, 128]),
    ],
)
def test_paper_e1_fit_windows_are_the_papers(preset: str, widths: list[int]) -> None:
    """Strong: exponential all widths, power and linear from the 3rd; weak: power the last 5, others all."""
    rules = load_preset(preset).analysis
    m = np.array(widths, dtype=float)

    def kept(family: str, gamma: float) -> list[int]:
        window = rules.window_for(family, gamma)
        return widths if window is None else [int(x) for x in m[window.mask(m)]]

    assert kept("exponential", -1.0) == widths
    assert kept("power", -1.0) == kept("linear", -1.0) == widths[2:]
    assert kept("power", 0.1) == widths[-5:]
    assert kept("exponential", 0.1) == kept("linear", 0.1) == widths


def test_every_preset_loads_and_round_trips() -> None:
    names = list_presets()
    for paper, quick in PAPER_PRESETS.items():
        assert paper in names and quick in names
    assert {"paper-e2-recipe", "paper-seeds"} <= set(names)
    for name in names:
        config = load_preset(name)
        assert config.name == name
        assert parse_config_text(dump_toml(config)) == config
        assert "#" in preset_text(name)  # presets explain themselves in comments
        if name.endswith("-quick"):
            assert config.meta.shrunk and config.meta.expected_cpu_minutes is not None
            assert config.meta.expected_cpu_minutes <= 10


def _m_grid_small() -> list[int]:
    return [int(x) for x in np.floor(np.exp(np.linspace(np.log(10), np.log(100), 6, dtype=np.float32)))]


def test_paper_e2_is_the_paper_grid() -> None:
    config = load_preset("paper-e2-full")
    runs = expand_runs(config)
    assert len(runs) == 17 * 10 * 6
    assert sorted({r.m for r in runs}) == _m_grid_small() == [10, 15, 25, 39, 63, 100]
    assert sorted({r.gamma for r in runs}) == np.linspace(-1, 1, 10).tolist()
    assert sorted({r.alpha for r in runs}) == [i / 8 for i in range(17)]
    assert {(r.n, r.batch, r.steps, r.warmup_steps, r.lr_W, r.lr_b, r.lr_floor) for r in runs} == {
        (1000, 2048, 20000, 2000, 0.01, 0.01, 0.05)
    }


def test_paper_e2_trains_the_open_question_first_and_seeds_replicate_its_strong_part() -> None:
    from superscale.config.grid import plan_sweep

    shards = plan_sweep(load_preset("paper-e2-full"))
    first = [run for shard in shards[:24] for run in shard.runs]  # 2 alpha × 6 m × 2 chunks of 5 gamma
    assert {run.alpha for run in first} == {2.0, 1.5} and len(first) == 120
    assert all(len(shard.runs) <= 5 for shard in shards)
    assert all(len({run.gamma > 0 for run in shard.runs}) == 1 for shard in shards)  # one regime a shard
    seeds = expand_runs(load_preset("paper-seeds"))
    assert len(seeds) == 180 and {r.seed for r in seeds} == {1, 2}
    assert {r.alpha for r in seeds} == {1.0, 1.5, 2.0} and max(r.gamma for r in seeds) < 0
    e2 = {r.run_id: r for r in expand_runs(load_preset("paper-e2-full"))}
    for run in seeds:  # the same recipe as E2's: only the seed differs
        twin = e2[dataclasses.replace(run, seed=0).run_id]
        assert (twin.batch, twin.steps, twin.lr_W, twin.warmup_steps) == (
            run.batch,
            run.steps,
            run.lr_W,
            run.warmup_steps,
        )


def test_earlier_preset_names_still_load_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="superscale.config.presets"):
        assert load_preset("paper-e2-alpha") == load_preset("paper-e2-full")
    assert "now called 'paper-e2-full'" in caplog.text


def test_paper_e1_learning_rates_match_spec_table() -> None:
    runs = expand_runs(load_preset("paper-e1-large"))
    assert len(runs) == 3 * 2 * 8
    assert {r.family for r in runs} == {"power", "exponential", "linear"}
    lr = {r.m: (r.lr_W, r.lr_b) for r in runs}
    table = {8: (0.02, 0.25), 16: (0.016818, 0.125), 128: (0.01, 0.015625), 1024: (0.005946, 0.001953125)}
    for m, (lr_W, lr_b) in table.items():
        assert lr[m][0] == pytest.approx(lr_W, abs=5e-7) and lr[m][1] == pytest.approx(lr_b, rel=1e-12)
    recipe = {(r.n, r.batch, r.steps, r.warmup_steps, r.loss_scale) for r in runs}
    assert recipe == {(10240, 2048, 20000, 1000, 100.0)}


def test_paper_e3_densities_match_spec() -> None:
    runs = expand_runs(load_preset("paper-e3-full"))
    assert len(runs) == 9 * 10 * 6
    knobs = sorted({r.density_knob for r in runs})
    assert knobs == np.linspace(0, 1, 9).tolist()
    top = next(r for r in runs if r.density_knob == 1.0)
    assert float(top.probs().sum()) == pytest.approx(7.485471, abs=1e-6)
    assert float(top.probs()[0]) == pytest.approx(1.0)


def test_paper_e4_is_wide() -> None:
    runs = expand_runs(load_preset("paper-e4-wide"))
    ms = sorted({r.m for r in runs})
    assert ms[0] == 50 and ms[-1] == 150 and all(m * m / 2 > 1000 for m in ms)


def test_sweep_config_is_frozen_and_forbids_extra() -> None:
    config = SweepConfig()
    with pytest.raises(ValueError):
        config.n = 3  # type: ignore[misc]
    # a misspelt field is an error naming it, at the top level and inside a table
    with pytest.raises(ValueError, match=r"gama: Extra inputs are not permitted"):
        parse_config({"gama": [-1.0]})
    with pytest.raises(ValueError, match=r"train\.step: Extra inputs are not permitted"):
        parse_config({"train": {"step": 10}})
    assert math.isfinite(config.train.lr_floor)
