"""Bad inputs, one table: each command gets one red line naming the field or file (exit 2, no traceback)
and leaves every file as it was, compared by a snapshot of the whole directory before and after.

`{store}` is a copy of a trained tiny store (n = 20, m ∈ {3, 4}); `{dir}` the test's directory. A case's
`files` are written first (text, or bytes; "head:NAME" a checkpoint folder whose lm_head is NAME below).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from superscale.cli import app
from superscale.store import schema
from superscale.sweep import run_sweep
from tests.tiny import tiny_sweep

runner = CliRunner()
TOML = 'name = "bad"\nn = 20\nm = 3\ngamma = -1.0\n[train]\nbatch = 8\nsteps = 20\n'
WIDTHS = "m,loss\n2,1.0\n4,0.6\n8,0.4\n16,0.3\n32,0.25\n64,0.22\n"
LOSSES = "family,dataset,m,loss\n" + "".join(f"a,d,{m},{1 / m**0.8 + 0.2}\n" for m in (2, 4, 8, 16, 32, 64))


def _head(kind: str) -> torch.Tensor:
    """The [vocab, d] = [50, 8] lm_head.weight of a checkpoint folder "head:KIND"."""
    W = torch.randn(50, 8, generator=torch.Generator().manual_seed(0))
    if kind == "nan":
        W[3, 2] = float("nan")
    elif kind == "inf":
        W[7] = float("inf")
    elif kind == "zero":
        W.zero_()
    return W


def _toml(extra: str = "", head: str = TOML) -> str:
    """The tiny sweep with `extra` lines: top-level keys go before the first table, tables after."""
    return head.replace("[train]", f"{extra}\n[train]", 1) if not extra.startswith("[") else head + extra


# (case id, args, files, expected fragment of the one error line)
CASES: list[tuple[str, list[str], dict[str, Any], str]] = [
    # --- sweep configs: refused at config time, before a byte is written ---------------------------------
    (
        "steps-1e13",
        ["run", "{dir}/c.toml", "-o", "{dir}/out"],
        {"c.toml": "n = 3\nm = 2\ngamma = -1.0\n[train]\nbatch = 2\nsteps = 10000000000000\n"},
        "one run trains 10,000,000,000,000 steps and held-out batches (more than 100,000,000)",
    ),
    (
        "lr-overflow",
        ["run", "{dir}/c.toml", "-o", "{dir}/out"],
        {"c.toml": _toml("[lr.W]\nbase = 0.01\nref_m = 1e-300\npower = -1000\n")},
        "lr.W: base · (ref_m / m) ** power overflows at m = 3",
    ),
    (
        "lr-underflow",
        ["run", "{dir}/c.toml", "-o", "{dir}/out"],
        {"c.toml": _toml("[lr.W]\nref_m = 1e-300\npower = 2\n")},
        "lr.W: base · (ref_m / m) ** power underflows to 0",
    ),
    (
        "lr-b-overflow",
        ["run", "{dir}/c.toml", "-o", "{dir}/out"],
        {"c.toml": _toml("[lr.b]\nref_m = 1e300\npower = 2\n")},
        "lr.b: base · (ref_m / m) ** power overflows",
    ),
    (
        "seed-2**64",
        ["run", "{dir}/c.toml", "-o", "{dir}/out"],
        {"c.toml": _toml("seeds = 100000000000000000000")},
        "seeds: must be an integer in [0, 2**64)",
    ),
    (
        "threads-flag",
        ["run", "{dir}/c.toml", "-o", "{dir}/out", "--threads", "100000"],
        {"c.toml": TOML},
        "--threads: 100000 threads, but this process may use",
    ),
    (
        "threads-config",
        ["run", "{dir}/c.toml", "-o", "{dir}/out"],
        {"c.toml": _toml("[execution]\nthreads = 100000\n")},
        "execution.threads: 100000 threads, but this process",
    ),
    (
        "heldout-1e9",
        ["run", "{dir}/c.toml", "-o", "{dir}/out"],
        {"c.toml": TOML + "heldout_batches = 1000000000\n"},
        "one run trains 1,000,000,020 steps and held-out",
    ),
    (
        "window-min>max",
        ["run", "{dir}/c.toml", "-o", "{dir}/out"],
        {"c.toml": _toml("[[analysis.windows]]\nm_min = 10\nm_max = 1\n")},
        "analysis.windows[0]: m_min (10) is larger than m_max (1): no width fits",
    ),
    (
        "data-path-passwd",
        ["run", "{dir}/c.toml", "-o", "{dir}/out"],
        {"c.toml": 'n = 3\nm = 2\n[data]\nfamily = "custom"\npath = "/etc/passwd"\n'},
        "data.path: '/etc/passwd' is not a list of numbers (entry 1 is not a number)",
    ),
    (
        "data-path-npy",
        ["run", "{dir}/c.toml", "-o", "{dir}/out"],
        {
            "c.toml": 'n = 3\nm = 2\n[data]\nfamily = "custom"\npath = "p.npy"\n',
            "p.npy": b"\x93NUMPY garbage",
        },
        "data.path: '{dir}/p.npy' is not a NumPy .npy file of numbers",
    ),
    (
        "out-not-a-store",
        ["run", "{dir}/c.toml", "-o", "{dir}/mine"],
        {"c.toml": TOML, "mine/notes.txt": "x"},
        "--out '{dir}/mine' holds other files (e.g. 'notes.txt') and no superscale store",
    ),
    # --- a store: its commands refuse nonsense and damaged tables ----------------------------------------
    ("query-empty", ["query", "{store}", ""], {}, "query: the SQL is empty"),
    ("query-semicolon", ["query", "{store}", " ; "], {}, "query: the SQL is empty"),
    (
        "runs-wrong-columns",
        ["analyze", "{store}"],
        {"store/runs.parquet": "cols", "store/shards/*.runs": "cols"},
        "runs.parquet' is damaged (no columns 'run_id', 'shard_id', 'status' and 4 more; `superscale run`",
    ),
    (
        "report-wrong-columns",
        ["report", "{store}"],
        {"store/runs.parquet": "cols", "store/shards/*.runs": "cols"},
        "is damaged (no columns 'run_id', 'shard_id', 'status' and 4 more",
    ),
    (
        "shard-id-escapes",
        ["analyze", "{store}", "--force"],
        {"store/runs.parquet": "escape", "store/shards/*.runs": "escape"},
        "column 'shard_id' holds '../../outside', which is not a shard name",
    ),
    (
        "analyze-bootstrap",
        ["analyze", "{store}", "--bootstrap", "-1"],
        {},
        "--bootstrap: must be between 0 and 1,000,000, got -1",
    ),
    (
        "analyze-block-size",
        ["analyze", "{store}", "--block-size", "0"],
        {},
        "--block-size: must be >= 1, got 0",
    ),
    # --- fits of a user's table --------------------------------------------------------------------------
    (
        "law-bootstrap",
        ["fit", "law", "{dir}/w.csv", "--law", "width", "--bootstrap", "-5"],
        {"w.csv": WIDTHS},
        "--bootstrap: must be between 2 and 1,000,000, got -5",
    ),
    (
        "law-inf-row",
        ["fit", "law", "{dir}/w.csv", "--law", "width"],
        {"w.csv": WIDTHS.replace("16,", "inf,")},
        "data row 4 of the table: m = inf is not a finite number",
    ),
    (
        "law-one-width",
        ["fit", "law", "{dir}/w.csv", "--law", "width"],
        {"w.csv": "m,loss\n" + "".join(f"8,{v}\n" for v in (1, 0.6, 0.4, 0.3, 0.25))},
        "the width law has 3 parameters (a, e, alpha) and needs >= 3 distinct values of m, got 1",
    ),
    (
        "law-exclude->>",
        ["fit", "law", "{dir}/w.csv", "--law", "width", "--exclude", "m>>5"],
        {"w.csv": WIDTHS},
        "--exclude 'm>>5': '>5' is not a value to compare with",
    ),
    (
        "law-exclude-text",
        ["fit", "law", "{dir}/w.csv", "--law", "width", "--exclude", "m<abc"],
        {"w.csv": WIDTHS},
        "--exclude 'm<abc': < compares numbers, but the value is not a number",
    ),
    (
        "law-column-clash",
        ["fit", "law", "{dir}/w.csv", "--law", "width", "--column", "m=loss"],
        {"w.csv": WIDTHS},
        "--column: m and loss would both be read from column 'loss'",
    ),
    (
        "law-seed",
        ["fit", "law", "{dir}/w.csv", "--law", "width", "--seed", "-1"],
        {"w.csv": WIDTHS},
        "--seed: must be between 0 and 2**64 - 1, got -1",
    ),
    (
        "law-binary",
        ["fit", "law", "{dir}/w.csv", "--law", "width"],
        {"w.csv": b"\xb6\x00\xff"},
        "table '{dir}/w.csv' cannot be read as CSV",
    ),
    (
        "llm-fit-bootstrap",
        ["llm", "fit", "{dir}/l.csv", "--bootstrap", "-2"],
        {"l.csv": LOSSES},
        "--bootstrap: must be between 0 and 1,000,000, got -2",
    ),
    # --- checkpoints and text ----------------------------------------------------------------------------
    (
        "tokenizer-garbage",
        ["llm", "geometry", "{dir}/ck"],
        {"ck": "head:random", "ck/tokenizer.json": "garbage{"},
        "'{dir}/ck/tokenizer.json' is not a readable tokenizer",
    ),
    (
        "head-nan",
        ["llm", "geometry", "{dir}/ck", "-o", "{dir}/g.csv"],
        {"ck": "head:nan"},
        "'lm_head.weight' of ck holds 1 non-finite value(s) (NaN or ±inf) in 1 of its 50 rows",
    ),
    ("head-inf", ["llm", "geometry", "{dir}/ck"], {"ck": "head:inf"}, "holds 8 non-finite value(s)"),
    ("head-zero", ["llm", "geometry", "{dir}/ck"], {"ck": "head:zero"}, "has 0 non-zero row(s) of 50"),
    (
        "trajectory-nan",
        ["llm", "trajectory", "{dir}/step1", "{dir}/step2", "--out", "{dir}/t.csv"],
        {"step1": "head:random", "step2": "head:nan"},
        "the unembedding 'lm_head.weight' of step2 holds 1 non-finite",
    ),
    (
        "index-parent",
        ["llm", "geometry", "{dir}/ck"],
        {
            "x.safetensors": "head:random",
            "ck/model.safetensors.index.json": {"weight_map": {"lm_head.weight": "../x.safetensors"}},
        },
        "lists the weights file '../x.safetensors', which is not a file inside the checkpoint",
    ),
    (
        "index-absolute",
        ["llm", "geometry", "{dir}/ck"],
        {"ck/model.safetensors.index.json": {"weight_map": {"lm_head.weight": "/etc/passwd"}}},
        "lists the weights file '/etc/passwd', which is not a file inside the checkpoint",
    ),
    (
        "index-not-json",
        ["llm", "geometry", "{dir}/ck/model.safetensors.index.json"],
        {"ck/model.safetensors.index.json": '{"weight_map": '},
        "'{dir}/ck/model.safetensors.index.json' is not valid JSON",
    ),
    (
        "config-not-utf8",
        ["llm", "geometry", "{dir}/ck"],
        {"ck": "head:random", "ck/config.json": b"\xff\xfe{"},
        "'{dir}/ck/config.json' is not UTF-8 text (byte 0xff at offset 0)",
    ),
    (
        "vocab-not-json",
        ["llm", "geometry", "{dir}/ck"],
        {"ck": "head:random", "ck/vocab.json": '{"a": 1,'},
        "'{dir}/ck/vocab.json' is not valid JSON",
    ),
    (
        "geometry-bins",
        ["llm", "geometry", "{dir}/ck", "--bins", "0"],
        {"ck": "head:random"},
        "--bins: must be between 1 and 1,000,000, got 0",
    ),
    (
        "freq-binary",
        ["llm", "freq", "{dir}/r.bin"],
        {"r.bin": bytes(range(128, 256)) * 40},
        "corpus '{dir}/r.bin' is not UTF-8 text (byte 0x80 on line 1)",
    ),
    (
        "freq-tokenizer",
        ["llm", "freq", "{dir}/c.txt", "--tokenizer", "{dir}/tok"],
        {"c.txt": "a b c\n", "tok/tokenizer.json": "garbage{", "tok/tokenizer_config.json": "{}"},
        "'{dir}/tok/tokenizer.json' is not valid JSON",
    ),
    (
        "freq-points",
        ["llm", "freq", "{dir}/c.txt", "--points", "100000000000"],
        {"c.txt": "a b c\n"},
        "--points: must be between 3 and 10,000,000",
    ),
    (
        "eval-binary-text",
        ["llm", "eval", "{dir}/ck", "--text", "{dir}/r.bin"],
        {"ck": "head:random", "r.bin": b"\x00\xb6\xff"},
        "'{dir}/r.bin' is not UTF-8 text (byte 0xb6 at offset 1)",
    ),
    (
        "aspect-depths",
        ["aspect", "plan", "--params", "1000", "--n", "20", "--depths", ""],
        {},
        "--depths must list at least one value (comma-separated integers), got ''",
    ),
    (
        "phase-densities",
        ["variants", "phase", "-o", "{dir}/ph", "--densities", ","],
        {},
        "--densities must list at least one value",
    ),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bad-inputs") / "store"
    run_sweep(tiny_sweep("bad-inputs"), out, quiet=True)
    return out


def _damage(file: Path, how: str) -> None:
    """A runs table with other columns ("cols") or a shard_id that climbs out of the store ("escape")."""
    if how == "cols":
        pd.DataFrame({"x": [1, 2]}).to_parquet(file)
    else:
        rows = pd.read_parquet(file)
        rows[schema.SHARD_ID] = "../../outside"
        rows.to_parquet(file)


def _write(root: Path, name: str, content: Any) -> None:
    from safetensors.torch import save_file

    if name.endswith("/*.runs"):  # every shard's runs table of the store
        for file in (root / name.removesuffix("/*.runs")).glob("*.runs.parquet"):
            _damage(file, content)
        return
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.startswith("store/"):
        _damage(path, content)
    elif isinstance(content, str) and content.startswith("head:"):
        target = path if path.suffix == ".safetensors" else path / "model.safetensors"
        target.parent.mkdir(parents=True, exist_ok=True)
        save_file({"lm_head.weight": _head(content.removeprefix("head:"))}, str(target))
    elif isinstance(content, dict):
        path.write_text(json.dumps(content))
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and directory under `root`, files with a digest of their bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize(("case", "args", "files", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_input_is_one_line_naming_it_and_changes_nothing(
    case: str,
    args: list[str],
    files: dict[str, Any],
    expected: str,
    tmp_path: Path,
    trained: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # relative data paths resolve here
    if "{store}" in " ".join(args) or any(name.startswith("store/") for name in files):
        shutil.copytree(trained, tmp_path / "store")
    for name, content in files.items():
        _write(tmp_path, name, content)
    before = _snapshot(tmp_path)
    result = runner.invoke(app, [a.format(dir=tmp_path, store=tmp_path / "store") for a in args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.output.rstrip().endswith(errors[0]), result.output
    assert expected.format(dir=tmp_path) in errors[0]
    assert "Traceback" not in result.output and "root:" not in result.output  # nor a file's contents
    assert _snapshot(tmp_path) == before  # nothing written, nothing half-written
