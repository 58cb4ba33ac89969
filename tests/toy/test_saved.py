"""ToyModel.save / load: an exact round trip in one safetensors file; a file that is not a saved model, or
is of a newer format, is refused with one line naming it; a failed save leaves the old file as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from superscale import ToyModel
from superscale.toy import saved


def _same(a: ToyModel, b: ToyModel) -> None:
    assert (a.n, a.m, a.gamma, a.seed, a.alpha, a.density) == (b.n, b.m, b.gamma, b.seed, b.alpha, b.density)
    assert torch.equal(a.W, b.W) and torch.equal(a.b, b.b) and torch.equal(a.frequencies, b.frequencies)
    assert a.trained == b.trained and repr(a) == repr(b)
    assert (a.step_loss is None) == (b.step_loss is None)
    if a.step_loss is not None:
        assert b.step_loss is not None and torch.equal(a.step_loss, b.step_loss)
    if a.values is not None:
        assert b.values is not None and np.array_equal(a.values, b.values)


def test_a_trained_model_round_trips_exactly(tmp_path: Path) -> None:
    model = ToyModel(30, 4, alpha=1.3, density=1.5, gamma=0.25, seed=5)
    model.fit(steps=25, batch=16, device="cpu", quiet=True)
    path = model.save(tmp_path / "deep" / "model.safetensors")  # parent folders made
    loaded = ToyModel.load(path)
    _same(model, loaded)
    assert loaded.loss() == model.loss() and loaded.phi_half == model.phi_half
    assert sorted(load_file(path)) == ["W", "b", "step_loss"]  # any safetensors reader opens it


def test_user_frequencies_and_an_untrained_model_round_trip(tmp_path: Path) -> None:
    weights = np.random.default_rng(0).integers(1, 100, size=16).astype(float)  # counts, rescaled
    model = ToyModel(16, 3, weights, density=2.0, seed=1)
    _same(model, ToyModel.load(model.save(tmp_path / "m.safetensors")))
    refit = ToyModel.load(tmp_path / "m.safetensors").fit(steps=10, batch=8, device="cpu", quiet=True)
    assert torch.equal(refit.W, model.fit(steps=10, batch=8, device="cpu", quiet=True).W)


def test_the_header_holds_the_config_as_json_with_its_format_version(tmp_path: Path) -> None:
    from safetensors import safe_open

    path = ToyModel(8, 2).save(tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as fh:
        config = json.loads(fh.metadata()[saved.METADATA_KEY])
    assert config["format"] == "superscale.ToyModel" and config["format_version"] == saved.FORMAT_VERSION
    assert (config["n"], config["m"], config["gamma"], config["trained"]) == (8, 2, -1.0, None)


def _with_config(tmp_path: Path, change: dict | str) -> Path:
    path = ToyModel(8, 2).save(tmp_path / "m.safetensors")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        config = json.loads(fh.metadata()[saved.METADATA_KEY])
    text = change if isinstance(change, str) else json.dumps({**config, **change})
    save_file(load_file(path), str(path), metadata={saved.METADATA_KEY: text})
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"format_version": 2},
            "in ToyModel format 2; this superscale .* reads format 1: upgrade superscale",
        ),
        ({"format_version": "one"}, "is not a saved ToyModel: format_version 'one' is not a version number"),
        ({"format": "other"}, "does not name the format 'superscale.ToyModel'"),
        ("{not json", "entry is not JSON"),
        ({"m": 3}, r"its tensors .* do not match n = 8, m = 3"),
        ({"n": -1}, "its config does not describe a valid model .*n must be a positive integer"),
    ],
)
def test_a_damaged_or_newer_config_is_refused(tmp_path: Path, change: dict | str, message: str) -> None:
    path = _with_config(tmp_path, change)
    with pytest.raises(ValueError, match=message) as info:
        ToyModel.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_files_that_are_not_saved_models_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, I am not a model\n")
    with pytest.raises(ValueError, match=r"'.*notes.txt' is not a saved ToyModel: header length"):
        ToyModel.load(text)
    other = tmp_path / "other.safetensors"
    save_file({"W": torch.zeros(2, 2)}, str(other))
    with pytest.raises(ValueError, match=r"a safetensors file without the 'superscale.toy_model' entry"):
        ToyModel.load(other)
    with pytest.raises(FileNotFoundError, match=r"no saved ToyModel at '.*missing.safetensors'"):
        ToyModel.load(tmp_path / "missing.safetensors")


def test_a_failed_save_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ToyModel(8, 2, seed=1).save(tmp_path / "m.safetensors")
    before = path.read_bytes()

    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match=r"could not write .*m.safetensors"):
        ToyModel(8, 2, seed=2).save(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
