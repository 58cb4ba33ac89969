"""The Python API as a notebook user meets it: Store methods and repr, figures by name and into given axes,
progress bars that show where someone watches and stay off with quiet=True."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from rich.console import Console

import superscale
from superscale import progress
from superscale.plots import MissingData
from superscale.store import Store, schema
from tests.tiny import tiny_sweep

SWEEP = {**tiny_sweep("api"), "m": [3, 4, 6], "seeds": [0]}  # 6 runs, 3 widths: enough to fit and draw


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = superscale.run_sweep(SWEEP, tmp_path_factory.mktemp("api") / "store", quiet=True)
    superscale.analyze_store(store, n_bootstrap=10, quiet=True)
    return store


def test_tables_are_methods_and_the_older_attribute_still_reads(store: Store) -> None:
    runs = store.runs()
    assert len(runs) == 6 and sorted(runs[schema.M_HIDDEN].unique()) == [3, 4, 6]
    assert store.runs is store.runs() and store.runs.equals(runs)  # `store.runs` as before
    assert set(store.curves()[schema.RUN_ID]) == set(runs[schema.RUN_ID])
    fits, metrics = store.fits(), store.metrics()
    assert fits is not None and metrics is not None and len(metrics) == 6


def test_repr_names_progress_status_and_path(store: Store) -> None:
    assert repr(store) == f"<Store 'api': 6/6 runs done, 0 failed, complete, path={str(store.path)!r}>"


def test_figure_by_name_and_into_given_axes(store: Store) -> None:
    fig = store.figure("fig1d")
    assert isinstance(fig, Figure) and fig.axes[0].get_lines()
    own = Figure()
    left, right = own.subplots(1, 2)
    assert store.figure("fig1d", ax=right) is own
    assert not left.has_data() and right.has_data()  # drawn where asked, nowhere else
    assert right.get_xlabel() == fig.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="draws 2 panel"):  # Fig. 3a has two panels
        superscale.plots.fig3a(superscale.plots.FigureData(runs=store.runs()), ax=right)
    with pytest.raises(ValueError, match="fig5e"):
        store.figure("fig99")


def test_missing_figure_names_the_preset_that_draws_it(store: Store) -> None:
    with pytest.raises(MissingData, match="the preset paper-e3-density-quick draws it"):
        store.figure("fig14a")  # one activation density only


def _stderr(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> io.StringIO:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=160)
    monkeypatch.setattr(progress, "bar_console", lambda: console)
    return out


TOY = {"m": [3, 4], "gamma": -1.0, "n": 20, "batch": 16, "steps": 20, "device": "cpu"}


def test_progress_bars_show_on_a_terminal_and_not_when_quiet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = _stderr(monkeypatch, terminal=True)
    quiet = superscale.train_toy_models(**TOY, quiet=True)
    assert out.getvalue() == ""
    shown = superscale.train_toy_models(**TOY)
    assert "training" in out.getvalue() and "40/40" in out.getvalue()  # 2 models × 20 steps
    assert "loss " in out.getvalue() and "model-steps/s" in out.getvalue()
    assert shown.table.equals(quiet.table)  # the bar changes nothing trained
    out.truncate(0)
    store = superscale.run_sweep({**SWEEP, "name": "bars"}, tmp_path / "s")
    assert "shard 3/3" in out.getvalue() and "180/180" in out.getvalue()  # 6 models × 30 steps
    assert "loss " in out.getvalue()
    out.truncate(0)
    superscale.analyze_store(store, n_bootstrap=10)
    assert "metrics" in out.getvalue() and "6/6" in out.getvalue()
    out.truncate(0)
    superscale.ToyModel(20, 3).fit(steps=20, batch=16, device="cpu")
    assert "ToyModel n=20 m=3" in out.getvalue() and "20/20" in out.getvalue()


def test_plain_lines_where_no_terminal_watches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A notebook cell, `| tee` or a cluster log: timestamped lines on stderr from every long call."""
    out = _stderr(monkeypatch, terminal=False)
    assert not progress.shows_bars()
    superscale.train_toy_models(**TOY)
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d training: 40 model-steps$", out.getvalue(), re.M)
    assert re.search(r"training m=4 \(1 model\): done, 40 model-steps in .*, loss ", out.getvalue())
    out.truncate(0)
    store = superscale.run_sweep({**SWEEP, "name": "lines"}, tmp_path / "s")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("training: 180 model-steps")
    assert len([line for line in lines if re.search(r"shard \d/3 n20-m\d-\w+: 2 models in", line)]) == 3
    assert re.search(r" training: done, 180 model-steps in .*, loss .*model-steps/s$", lines[-1])
    out.truncate(0)
    superscale.analyze_store(store, n_bootstrap=10, force=True)
    superscale.write_report(store.path, pdf=False)
    assert "metrics: done, 6 in" in out.getvalue() and "report: " in out.getvalue()
    out.truncate(0)
    superscale.ToyModel(20, 3).fit(steps=20, batch=16, device="cpu", quiet=True)
    superscale.run_sweep({**SWEEP, "name": "lines"}, tmp_path / "s", quiet=True)
    assert out.getvalue() == ""


#: the public API, frozen: a name removed or renamed here breaks users' code (add new names deliberately)
PUBLIC_API = [
    "AnalysisResult",
    "Architecture",
    "DivergenceError",
    "ModelSpec",
    "ShardResult",
    "ShardSpec",
    "Store",
    "SweepConfig",
    "ToyModel",
    "TrainedModels",
    "__version__",
    "analyze_store",
    "custom_probs",
    "density_scan_probs",
    "exponential_probs",
    "get_architecture",
    "linear_probs",
    "list_presets",
    "load",
    "load_config",
    "load_preset",
    "open_store",
    "power_law_probs",
    "register_architecture",
    "reproduce",
    "run_sweep",
    "sample_dense",
    "sample_sparse",
    "train_shard",
    "train_toy_models",
    "write_report",
]


def test_public_api_is_the_frozen_list_and_every_name_resolves() -> None:
    import superscale

    assert sorted(superscale.__all__) == sorted(PUBLIC_API)
    for name in PUBLIC_API:
        assert getattr(superscale, name) is not None, name
    store_class = superscale.Store
    assert superscale.open_store is superscale.load
    assert hasattr(store_class, "figure") and hasattr(store_class, "runs")
