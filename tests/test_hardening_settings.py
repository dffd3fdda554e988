"""Every numeric setting has bounds the OS, llama.cpp and the libraries can take.

A value outside them — zero where zero is meaningless, negative, huge, inf, nan, not a
number — is one line naming the key, exit 2, at load: never a segfault in llama.cpp
(N_THREADS=100000), a hang (N_THREADS=1000) or a traceback from time.sleep minutes later
(DREAM_INTERVAL_SEC=inf). The bounds are restated here, not read from Settings, so that
loosening one is a test failure.
"""

from __future__ import annotations

import math
import os
import re
import types
import typing
from pathlib import Path

import pytest
from cli_runner import run_codedreamer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codedreamer.config.settings import Settings, env_key, load_settings
from codedreamer.errors import ConfigError

CORES = max(1, os.cpu_count() or 1)
DAY = 86_400

# field: (lowest, highest, integer?)
BOUNDS: dict[str, tuple[float, float, bool]] = {
    "reasoning_max_tokens": (16, 1_048_576, True),
    "coder_max_tokens": (16, 1_048_576, True),
    "n_gpu_layers": (-1, 10_000, True),
    "n_ctx": (512, 1_048_576, True),
    "n_threads": (1, 4 * CORES, True),
    "max_dreams_per_cycle": (1, 100, True),
    "extended_context_limit": (1000, 4_000_000, True),
    "prompt_context_limit": (500, 4_000_000, True),
    "chunk_size": (200, 1_000_000, True),
    "dream_temperature": (0.0, 2.0, False),
    "repeat_penalty": (1.0, 2.0, False),
    "dream_interval_sec": (0.0, 7 * DAY, False),
    "decay_interval_sec": (1.0, 30 * DAY, False),
    "novelty_threshold": (0.0, 1.0, False),
    "verify_timeout_sec": (1.0, DAY, False),
}

NON_FINITE = ["inf", "-inf", "+inf", "Infinity", "nan", "NaN", "-nan", "1e400", "-1e400"]
NOT_NUMBERS = ["abc", "12abc", "0x10", "1_0_", "[]", "{}", "None", "true?", "--5", "\x1b[2J"]


def _numeric(annotation: object) -> bool:
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    kinds = set(args) - {type(None)} if args else {annotation}
    return bool(kinds) and kinds <= {int, float}


def test_every_numeric_setting_has_stated_bounds() -> None:
    numeric = {name for name, f in Settings.model_fields.items() if _numeric(f.annotation)}
    assert numeric == set(BOUNDS)


def _load(name: str, text: str) -> Settings:
    return load_settings(env_file=None, environ={env_key(name): text}).settings


def _assert_rejected(name: str, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(name, text)
    message = str(info.value)
    assert message.startswith(env_key(name) + ": "), message
    assert "\n" not in message and "\r" not in message and len(message) < 300, message
    assert info.value.exit_code == 2


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_both_ends_load_and_one_step_beyond_fails(name: str) -> None:
    low, high, integer = BOUNDS[name]
    step = 1 if integer else 1e-6 * max(1.0, abs(high))
    for inside in (low, high):
        text = str(int(inside)) if integer else repr(float(inside))
        assert getattr(_load(name, text), name) == inside
    for outside in (low - step, high + step):
        text = str(int(outside)) if integer else repr(float(outside))
        _assert_rejected(name, text)


@pytest.mark.parametrize("name", sorted(BOUNDS))
@pytest.mark.parametrize("text", NON_FINITE + NOT_NUMBERS)
def test_non_finite_and_non_numbers_are_rejected(name: str, text: str) -> None:
    _assert_rejected(name, text)


def _numbers(integer: bool) -> st.SearchStrategy[str]:
    ints = st.one_of(
        st.integers(-(10**30), 10**30),
        st.sampled_from([0, -1, 2**31, 2**63, 10**12, 100_000, 1000]),
    ).map(str)
    floats = st.floats(allow_nan=True, allow_infinity=True).map(repr)
    if integer:
        return st.one_of(ints, floats, st.text(max_size=12))
    return st.one_of(floats, ints, st.text(max_size=12))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_value_either_loads_in_bounds_or_is_one_line_naming_the_key(
    data: st.DataObject,
) -> None:
    name = data.draw(st.sampled_from(sorted(BOUNDS)))
    low, high, integer = BOUNDS[name]
    text = data.draw(_numbers(integer))
    try:
        value = getattr(_load(name, text), name)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(env_key(name) + ": ") and "\n" not in message
        assert len(message) < 300
        try:
            number = float(text)
        except ValueError:
            return
        # A plain in-range number must load: only bad values are refused.
        plain = re.fullmatch(r"-?\d+" if integer else r"[-+0-9.eE]+", text) is not None
        assert not (plain and math.isfinite(number) and low <= number <= high), text
        return
    if value is None:  # blank N_THREADS = all cores
        assert name == "n_threads" and not text.strip()
        return
    assert math.isfinite(value) and low <= value <= high, (name, text, value)


def test_blank_thread_count_still_means_all_cores() -> None:
    assert _load("n_threads", "").effective_threads == CORES


@pytest.mark.parametrize(
    "field", ["model_path", "coder_model_path", "embed_model_path", "dreams_dir", "data_dir"]
)
@pytest.mark.parametrize("text", ["x" * 300, "a/" * 2100, "dir/" + "n" * 256 + "/file"])
def test_paths_no_system_call_accepts_are_refused_at_load(field: str, text: str) -> None:
    _assert_rejected(field, text)


def test_a_nul_byte_in_a_path_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^DREAMER_DATA_DIR: a path cannot contain a NUL"):
        load_settings({"data_dir": Path("a\0b")}, env_file=None, environ={})


def test_long_values_are_cut_in_the_message() -> None:
    with pytest.raises(ConfigError) as info:
        _load("n_ctx", "9" * 5000)
    assert len(str(info.value)) < 300 and "…" in str(info.value)


# ---------------------------------------------------------------- the real entry point


@pytest.mark.parametrize(
    ("key", "value", "args"),
    [
        ("DREAMER_N_THREADS", "100000", ["dream", "--once"]),
        ("DREAMER_N_THREADS", "1000", ["dream", "--once"]),
        ("DREAMER_DREAM_INTERVAL_SEC", "inf", ["dream"]),
        ("DREAMER_DECAY_INTERVAL_SEC", "nan", ["config"]),
        ("DREAMER_REASONING_MAX_TOKENS", "1000000000000", ["dream", "--once"]),
        ("DREAMER_N_GPU_LAYERS", "99999999999999999999", ["config"]),
        ("DREAMER_DREAM_TEMPERATURE", "1e400", ["config"]),
    ],
)
def test_entry_point_refuses_extreme_settings_in_one_line(
    tmp_path: Path, key: str, value: str, args: list[str]
) -> None:
    if key == "DREAMER_N_THREADS" and int(value) <= 4 * CORES:
        pytest.skip("this machine has so many cores that the value is in bounds")
    result = run_codedreamer(*args, env={key: value}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {key}: "), result.stderr
    assert not (tmp_path / ".codedreamer").exists()  # refused before any work


# ---------------------------------------------------------------- every setting, any value

EXTREME_TEXT = [
    *NON_FINITE,
    *NOT_NUMBERS,
    "0",
    "-1",
    "1e12",
    "9" * 400,
    "",
    " ",
    "true",
    "x" * 5000,
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(Settings.model_fields)),
    text=st.one_of(st.sampled_from(EXTREME_TEXT), st.text(max_size=40)),
)
def test_every_setting_either_loads_or_is_one_line_naming_the_key(name: str, text: str) -> None:
    if "\0" in text:
        text = text.replace("\0", "")  # the environment cannot hold a NUL byte
    try:
        value = getattr(_load(name, text), name)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(env_key(name) + ": ") and "\n" not in message, message
        assert len(message) < 300
        return
    if name in BOUNDS and value is not None:
        low, high, _ = BOUNDS[name]
        assert math.isfinite(value) and low <= value <= high


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(BOUNDS)),
    text=st.sampled_from(["inf", "nan", "-1", "1e12", "abc", "99999999999999999999"]),
)
def test_the_real_entry_point_agrees(name: str, text: str) -> None:
    import tempfile

    low, high, _ = BOUNDS[name]
    with tempfile.TemporaryDirectory() as cwd:
        result = run_codedreamer("config", "--json", env={env_key(name): text}, cwd=Path(cwd))
    try:
        integer_ok = not BOUNDS[name][2] or re.fullmatch(r"-?\d+", text) is not None
        inside = low <= float(text) <= high and integer_ok
    except ValueError:
        inside = False
    if inside:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {env_key(name)}: "), result.stderr
