#!/usr/bin/env bash
# Set up CodeDreamer in ./.venv with plain Python tooling, then run one job.
#   ./dev.sh demo [PATH]   install, index PATH (default: this repository), dream once on the bundled model
#   ./dev.sh test          install with the dev extra, run the whole test suite
#   ./dev.sh lint          ruff + mypy
# The first run compiles llama-cpp-python from source (PyPI ships no wheels): about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=${CODEDREAMER_VENV:-.venv}

setup() {
    local extra=$1
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null
    # llama.cpp compiles with cmake; say so, since a silent 10-minute step looks like a hang.
    if ! "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
        echo "dev.sh: building llama-cpp-python from source (about 10 minutes on 2 cores)..." >&2
    fi
    # pip's build chatter goes to a log; it is shown only if the install fails.
    if ! "$VENV/bin/python" -m pip install --quiet -e ".${extra}" >"$VENV/install.log" 2>&1; then
        tail -n 40 "$VENV/install.log" >&2
        echo "dev.sh: install failed; full log in $VENV/install.log" >&2
        exit 1
    fi
}

cmd=${1:-}
shift || true
case "$cmd" in
    demo)
        setup ""
        target=${1:-.}
        "$VENV/bin/codedreamer" index "$target"
        "$VENV/bin/codedreamer" dream --once --codebase "$target" --max-tokens "${DEMO_MAX_TOKENS:-400}"
        "$VENV/bin/codedreamer" dreams list --limit 5
        ;;
    test)
        setup "[dev]"
        set +e
        "$VENV/bin/python" -m pytest "$@"
        rc=$?
        set -e
        # pytest exits 5 when it collected nothing: that is a broken suite, not a pass.
        if [ "$rc" -eq 5 ]; then
            echo "dev.sh: pytest collected no tests" >&2
            exit 1
        fi
        exit "$rc"
        ;;
    lint)
        setup "[dev]"
        "$VENV/bin/ruff" check codedreamer tests bench
        "$VENV/bin/ruff" format --check codedreamer tests bench
        "$VENV/bin/mypy"
        ;;
    *)
        echo "usage: ./dev.sh demo [PATH] | test [PYTEST ARGS] | lint" >&2
        exit 2
        ;;
esac
