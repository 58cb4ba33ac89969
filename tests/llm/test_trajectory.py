"""A checkpoint series, offline: local step directories and hub revisions, tabulated and plotted by step."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from superscale.cli import app
from superscale.llm.source import load_unembedding
from superscale.llm.trajectory import series

M = 16


def _head(step: int) -> torch.Tensor:
    """A head whose rows share a growing mean row: raw ⟨cos²⟩·m rises with the step, centred it stays ≈ 1."""
    gen = torch.Generator().manual_seed(step)
    return torch.randn(400, M, generator=gen, dtype=torch.float64) + step / 100 * torch.ones(
        M, dtype=torch.float64
    )


def _save(folder: Path, W: torch.Tensor) -> None:
    folder.mkdir(parents=True)
    save_file({"lm_head.weight": W}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"tie_word_embeddings": False, "hidden_size": M}))


def _cos2_times_m(W: torch.Tensor) -> float:
    U = W / (W.norm(dim=1, keepdim=True) + 1e-9)
    n = U.shape[0]
    return float(((U @ U.T)[torch.triu_indices(n, n, offset=1).unbind()] ** 2).mean()) * M


def test_trajectory_of_step_directories(tmp_path: Path) -> None:
    steps = [300, 100, 200]  # given out of order: the table is sorted by step
    for step in steps:
        _save(tmp_path / "run" / f"checkpoint-{step}", _head(step))
    table, plot = tmp_path / "trajectory.csv", tmp_path / "trajectory.png"
    args = [str(tmp_path / "run" / f"checkpoint-{s}") for s in steps]
    result = CliRunner().invoke(
        app, ["llm", "trajectory", *args, "--method", "exact", "--device", "cpu", "--out", str(table),
              "--plot", str(plot)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(table)
    assert frame["step"].tolist() == [100, 200, 300]
    assert frame["model"].tolist() == ["checkpoint-100", "checkpoint-200", "checkpoint-300"]
    for step, got, centred in zip(
        frame["step"], frame["cos2_times_m"], frame["cos2_times_m_centered"], strict=True
    ):
        W = _head(int(step))
        assert got == pytest.approx(_cos2_times_m(W), rel=1e-10)
        assert centred == pytest.approx(_cos2_times_m(W - W.mean(dim=0)), rel=1e-10)
    assert frame["cos2_times_m"].is_monotonic_increasing
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_a_checkpoint_without_a_step_is_one_red_line(tmp_path: Path) -> None:
    _save(tmp_path / "final", _head(1))
    result = CliRunner().invoke(app, ["llm", "trajectory", str(tmp_path / "final"), "--device", "cpu"])
    assert result.exit_code != 0 and "no training step in final" in result.output
    assert "Traceback" not in result.output


def test_revisions_of_one_hub_id_come_from_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pythia-style branches step100, step200 in the Hugging Face cache layout: each revision its own head."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket, "create_connection", refuse)
    repo = tmp_path / "hub" / "models--tiny-org--tiny-run"
    (repo / "refs").mkdir(parents=True)
    for step in (100, 200):
        commit = f"{step:040d}"
        _save(repo / "snapshots" / commit, _head(step))
        (repo / "refs" / f"step{step}").write_text(commit)
    for step in (100, 200):
        emb = load_unembedding("tiny-org/tiny-run", revision=f"step{step}", cache_dir=tmp_path / "hub")
        assert torch.equal(emb.W, _head(step))
        assert (emb.model, emb.revision, emb.step) == (f"tiny-org/tiny-run@step{step}", f"step{step}", step)


def test_series_pairs_revisions_with_one_source() -> None:
    assert series(["org/run"], ["step1", "step2"]) == [("org/run", "step1"), ("org/run", "step2")]
    assert series(["a", "b"], None) == [("a", None), ("b", None)]
    with pytest.raises(ValueError, match="one hub id, got 2"):
        series(["a", "b"], ["step1"])


def test_a_checkpoint_without_a_finite_overlap_is_refused_not_tabulated() -> None:
    from superscale.llm.trajectory import TRAJECTORY_COLUMNS, trajectory_frame

    row = dict.fromkeys(TRAJECTORY_COLUMNS, 1.0) | {"model": "run/step2", "step": 2}
    with pytest.raises(ValueError, match=r"⟨cos²⟩·m is not finite for run/step2: nothing is written"):
        trajectory_frame([dict(row, step=1, model="run/step1"), dict(row, cos2_times_m=float("nan"))])
