"""Bad input at the command line: one line on stderr, exit 2, never a traceback.

Covers the numeric options of `briefing` and `graph`, click's own usage errors (which
printed a usage block and a boxed message), `--env-file`, and what a missing or unusable
DATA_DIR means to the commands that read it. Most cases call `run()` — the entry point's
own function — in-process; a few run the real console script in a subprocess.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

import pytest
from cli_runner import run_codedreamer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codedreamer.cli.app import run
from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_store import load_graph, save_graph
from codedreamer.memory.graph_types import CodeEntityInput, NodeInput, NodeKind

EXTREMES = [
    "0", "-0", "-1", "-1e9", "1e12", "1e400", "99999999999999999999999999", "inf", "-inf",
    "nan", "NaN", "abc", "", " ", "1,5", "0x10", "[1]", "\x1b[31m",
]  # fmt: skip

# option: (argv before the value, lowest, highest, lowest excluded?, integer?)
OPTIONS: dict[str, tuple[list[str], float, float, bool, bool]] = {
    "briefing --hours": (["briefing", "--hours"], 0.0, 876_000.0, True, False),
    "graph hot --limit": (["graph", "hot", "--limit"], 1, 100_000, False, True),
    "graph entangled -n": (["graph", "entangled", "-n"], 1, 100_000, False, True),
    "graph prune --threshold": (["graph", "prune", "--threshold"], 0.0, 1.0, False, False),
    "graph backfill --k": (["graph", "backfill", "--k"], 1, 1_000, False, True),
    "graph backfill --threshold": (["graph", "backfill", "--threshold"], -1.0, 1.0, False, False),
}


def seed_graph(directory: Path) -> None:
    now = time.time()
    graph = KnowledgeGraph()
    graph.sync_code_entities(
        [CodeEntityInput("pkg/a.py", "function", "load", 1, 9)], now=now - 86_400
    )
    graph.upsert_node(NodeInput(id="fact:x", kind=NodeKind.FACT, momentum=0.9), now=now)
    save_graph(graph, directory)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line(err: str, start: str = "error: ") -> str:
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith(start), err
    assert "Traceback" not in err and "\x1b" not in err
    return lines[0]


def _in_range(text: str, low: float, high: float, low_open: bool, integer: bool) -> bool:
    # Integer options take "3" and, like pydantic's lax mode, "3.0"; never "3.5" or "3e0".
    pattern = r"-?\d+(\.0+)?" if integer else r"-?\d+(\.\d+)?([eE][-+]?\d+)?"
    if re.fullmatch(pattern, text) is None:
        return False
    number = float(text)
    above = number > low if low_open else number >= low
    return math.isfinite(number) and above and number <= high


# ---------------------------------------------------------------- numeric options


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    option=st.sampled_from(sorted(OPTIONS)),
    value=st.one_of(
        st.sampled_from(EXTREMES),
        st.integers(-(10**20), 10**20).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    ),
)
def test_numeric_options_take_what_fits_and_refuse_the_rest_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    if not (workdir / "data" / "graph").exists():  # once: the fixture outlives examples
        seed_graph(workdir / "data" / "graph")
    argv, low, high, low_open, integer = OPTIONS[option]
    flag = argv[-1]
    code, _, err = run_cli(capsys, *argv, value, "--json")
    if _in_range(value, low, high, low_open, integer):
        assert code == 0, (option, value, err)
        return
    assert code == 2, (option, value, err)
    line = assert_one_line(err)
    # Click's range errors say "Invalid value for '--limit'", ours "--hours must be ...".
    assert f"'{flag}'" in line or line.startswith(f"error: {flag} must be "), line


@pytest.mark.parametrize("value", ["inf", "nan", "1e12", "-5", "0"])
def test_briefing_hours_from_the_real_entry_point(tmp_path: Path, value: str) -> None:
    result = run_codedreamer(
        "briefing", "--hours", value, env={"DREAMER_DREAMS_DIR": str(tmp_path)}, cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert_one_line(result.stderr, "error: --hours must be positive, finite and at most")


def test_a_huge_but_finite_briefing_window_works(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "briefing", "--hours", "876000", "--json")
    assert code == 0 and json.loads(out)["count"] == 0


# ---------------------------------------------------------------- click's usage errors


@pytest.mark.parametrize(
    "argv",
    [["bogus"], ["graph", "hot", "--bogus"], ["dreams", "show"], ["graph", "sideways"]],
)
def test_usage_errors_are_one_line_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert "--help" in assert_one_line(err)


@pytest.mark.parametrize("argv", [[], ["graph"], ["--help"], ["graph", "hot", "--help"]])
def test_help_and_a_bare_group_print_help_and_exit_0(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 0 and "Usage:" in out and err == ""


def test_usage_error_from_the_real_entry_point(tmp_path: Path) -> None:
    result = run_codedreamer("graph", "hot", "--limit", "0", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert_one_line(result.stderr, "error: Invalid value for '--limit'")


# ---------------------------------------------------------------- --env-file


def test_env_file_that_does_not_exist_is_an_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "--env-file", "missing.env", "config")
    assert code == 2
    assert "missing.env" in assert_one_line(err) and "no such file" in err


def test_env_file_that_is_a_directory_is_an_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "conf").mkdir()
    code, _, err = run_cli(capsys, "--env-file", "conf", "config")
    assert code == 2 and "directory" in assert_one_line(err)


def test_the_default_env_file_may_be_absent_or_a_virtualenv(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "config", "--json")
    assert code == 0 and json.loads(out)["DREAMER_N_CTX"]["source"] == "default"
    (workdir / ".env" / "bin").mkdir(parents=True)  # `python -m venv .env`
    code, out, _ = run_cli(capsys, "config", "--json")
    assert code == 0 and json.loads(out)["DREAMER_N_CTX"]["source"] == "default"


def test_a_named_env_file_is_read(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "night.env").write_text("# comment\nexport DREAMER_N_CTX=4096\n\n")
    code, out, _ = run_cli(capsys, "--env-file", "night.env", "config", "--json")
    assert code == 0 and json.loads(out)["DREAMER_N_CTX"] == {"value": 4096, "source": ".env"}


@pytest.mark.parametrize("bad_line", ["this is not a setting", "=5", 'DREAMER_N_CTX="2048'])
def test_an_unparsable_line_names_the_file_and_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], bad_line: str
) -> None:
    env_file = workdir / "bad.env"
    env_file.write_text(f"DREAMER_N_CTX=2048\n# fine\n{bad_line}\nDREAMER_N_THREADS=1\n")
    code, _, err = run_cli(capsys, "--env-file", str(env_file), "config")
    assert code == 2
    assert f"{env_file}:3: cannot parse" in assert_one_line(err)


def test_an_unparsable_default_env_file_is_an_error_too(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / ".env").write_text("DREAMER_N_CTX 2048\n")
    code, _, err = run_cli(capsys, "config")
    assert code == 2 and ".env:1: cannot parse" in assert_one_line(err)


# ---------------------------------------------------------------- DATA_DIR agreement


READERS = [["graph", "stats"], ["graph", "hot"], ["graph", "entangled"], ["search", "x"]]
GRAPH_WRITERS = [["graph", "decay"], ["graph", "prune"], ["graph", "backfill"]]


@pytest.mark.parametrize("argv", READERS + GRAPH_WRITERS)
def test_missing_data_dir_is_one_line_exit_2_and_creates_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    line = assert_one_line(err)
    assert "no " in line and "yet" in line and "codedreamer " in line
    assert not (workdir / "data").exists()


@pytest.mark.parametrize("argv", READERS + GRAPH_WRITERS)
def test_a_file_where_data_dir_should_be_is_one_line_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    (workdir / "data").write_text("not a directory")
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    line = assert_one_line(err)
    assert "data" in line and ("not a directory" in line or "no index yet" in line)
    assert (workdir / "data").read_text() == "not a directory"


@pytest.mark.parametrize("argv", [["graph", "stats"], ["graph", "hot"], ["graph", "decay"]])
def test_data_dir_without_a_graph_says_how_to_make_one(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    (workdir / "data" / "index").mkdir(parents=True)
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert "graph backfill" in assert_one_line(err)
    assert not (workdir / "data" / "graph").exists()


def test_backfill_makes_a_graph_from_a_graph_alone(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_graph(workdir / "data" / "graph")
    code, out, _ = run_cli(capsys, "graph", "backfill", "--json")
    assert code == 0 and json.loads(out)["graph"]["nodes"] == 3
    assert load_graph(workdir / "data" / "graph").edge_count >= 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
def test_an_unreadable_data_dir_is_one_line_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_graph(workdir / "data" / "graph")
    (workdir / "data").chmod(0)
    try:
        code, _, err = run_cli(capsys, "graph", "stats")
    finally:
        (workdir / "data").chmod(0o755)
    assert code == 2 and "permission denied" in assert_one_line(err)
