"""Selection: code only, rejected attempts count as coverage, recent and complex code first."""

from __future__ import annotations

import random

import pytest

from codedreamer.dream.selection import Candidate, choose, is_code, recency

BRANCHY = "if a:\n    pass\nelse:\n    for x in y:\n        pass\n" * 4
DAY = 86400.0


def code(key: str, path: str, content: str = BRANCHY, **extra: object) -> Candidate:
    lines = content.count("\n") + 1
    return Candidate(key, path, 1, lines, content, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "language", "expected"),
    [
        ("README.md", "markdown", False),
        ("pyproject.toml", "toml", False),
        ("config/settings.yaml", "yaml", False),
        ("docs/conf.py", "python", False),
        ("setup.py", "python", False),
        ("webpack.config.js", "javascript", False),
        ("examples/demo.py", "python", False),
        ("README.md", "", False),
        ("shop/cart.py", "python", True),
        ("lib/response.js", "javascript", True),
        ("lib/response.js", "", True),
    ],
)
def test_only_project_code_is_a_seed(path: str, language: str, expected: bool) -> None:
    assert is_code(Candidate("k", path, 1, 10, "x", language)) is expected


def test_a_sample_of_docs_and_config_yields_no_choice() -> None:
    sample = [
        code("readme", "README.md", "# Title\n" * 40, language="markdown"),
        code("pyproject", "pyproject.toml", "[project]\nname = 'x'\n" * 20, language="toml"),
    ]
    assert choose(sample, set(), random.Random(0)) is None
    sample.append(code("small", "shop/cart.py", "def f():\n    return 1\n", language="python"))
    choice = choose(sample, set(), random.Random(0))
    assert choice is not None and choice.key == "small"


def test_rejected_attempts_count_as_coverage() -> None:
    attempted_chunk = code("tried", "shop/cart.py")
    other = code("other", "shop/tax.py", "def f(x):\n    return x\n\n")
    rng = random.Random(3)
    first = choose([attempted_chunk, other], set(), rng)
    assert first is not None and first.key == "tried"
    again = choose([attempted_chunk, other], set(), rng, attempted={("shop/cart.py", 2, 4)})
    assert again is not None and again.key == "other" and again.reason == "not dreamed about yet"
    both = choose(
        [attempted_chunk, other],
        {("shop/tax.py", 1, 3)},
        rng,
        attempted={("shop/cart.py", 2, 4)},
    )
    assert both is not None and "attempted" in both.reason


def test_recently_changed_code_wins_over_equally_complex_old_code() -> None:
    now = 1_000 * DAY
    old = code("old", "a.py", modified=now - 90 * DAY)
    new = code("new", "b.py", modified=now - DAY / 2)
    wins = {choose([old, new], set(), random.Random(seed), now=now).key for seed in range(20)}  # type: ignore[union-attr]
    assert wins == {"new"}
    choice = choose([old, new], set(), random.Random(0), now=now)
    assert choice is not None and choice.reason.endswith("changed recently")
    assert recency(now, now) == 1.0 and recency(now - 7 * DAY, now) == pytest.approx(0.5)
    assert recency(None, now) == 0.0


def test_complex_code_wins_over_trivial_code() -> None:
    trivial = code("trivial", "a.py", "x = 1\ny = 2\nz = 3")
    branchy = code("branchy", "b.py")
    choice = choose([trivial, branchy], set(), random.Random(1))
    assert choice is not None and choice.key == "branchy"
