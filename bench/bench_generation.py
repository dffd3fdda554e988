"""Benchmark (a): streamed ChatModel.chat against raw llama-cpp-python on the same model.

Both sides load the same GGUF with the same n_ctx and threads, get the same messages,
seed, temperature and max_tokens, and stream with `create_chat_completion(stream=True)`;
ours adds the lock, cancel checks, token counting and stats. Runs alternate (ours, raw,
ours, raw, ...) after one warm-up each, so drift in machine load hits both alike. Both are
timed the same way from outside: the first text piece and the end of the stream, with the
output's tokens counted by the same tokenizer.

    python -m bench.bench_generation [--runs 7] [--max-tokens 128] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import write_section
from codedreamer.models.bundled import bundled_model_path
from codedreamer.models.quiet import stderr_to_file
from codedreamer.models.runtime import ChatMessage, ChatModel, ModelSpec

SYSTEM = "You are a senior Python engineer. Answer with code first, then one sentence."
USER = (
    "Write a Python function parse_csv_line(line: str) -> list[str] that splits one CSV "
    "line on commas, honouring double-quoted fields with escaped quotes."
)
SEED = 1234
TEMPERATURE = 0.0


@dataclass
class Run:
    first_piece_seconds: float
    total_seconds: float
    cpu_seconds: float
    tokens: int

    @property
    def decode_rate(self) -> float:
        decode = self.total_seconds - self.first_piece_seconds
        return (self.tokens - 1) / decode if decode > 0 and self.tokens > 1 else 0.0

    @property
    def cpu_rate(self) -> float:
        """Tokens per CPU-second of this process: barely moved by other processes' load."""
        return self.tokens / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    @property
    def end_to_end_rate(self) -> float:
        return self.tokens / self.total_seconds if self.total_seconds > 0 else 0.0


def timed(stream: Iterable[str], count: Callable[[str], int]) -> Run:
    cpu_start = time.process_time()
    start = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    for piece in stream:
        if first is None:
            first = time.perf_counter() - start
        parts.append(piece)
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return Run(first if first is not None else total, total, cpu, count("".join(parts)))


def profiled_share(run: Callable[[], object]) -> float:
    """Fraction of a run's profiled time spent inside functions defined in codedreamer/."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.runcall(run)
    stats = pstats.Stats(profile)
    own = total = 0.0
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        inner_seconds = row[2]
        total += inner_seconds
        if f"{os.sep}codedreamer{os.sep}" in filename:
            own += inner_seconds
    return own / total if total else 0.0


def load_average() -> str:
    try:
        return ", ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def raw_pieces(llama: Any, messages: list[dict[str, str]], max_tokens: int) -> Iterable[str]:
    for chunk in llama.create_chat_completion(
        messages=messages,
        max_tokens=max_tokens,
        temperature=TEMPERATURE,
        seed=SEED,
        stream=True,
    ):
        piece = chunk["choices"][0]["delta"].get("content")
        if piece:
            yield piece


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per side (>= 5)")
    parser.add_argument("--max-tokens", type=int, default=128)
    # One thread by default: on a shared machine, multi-threaded llama.cpp swings with
    # the load of other processes far more than the overhead being measured.
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)

    import llama_cpp

    path: Path = bundled_model_path()
    n_ctx = 2048
    ours = ChatModel(ModelSpec("reasoning", path, "DREAMER_MODEL_PATH", n_ctx, 0, args.threads))
    ours.load()
    with stderr_to_file():
        raw = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=args.threads,
            n_threads_batch=args.threads,
            verbose=False,
        )
    messages = [ChatMessage("system", SYSTEM), ChatMessage("user", USER)]
    raw_messages = [{"role": m.role, "content": m.content} for m in messages]

    def run_ours() -> Run:
        response = ours.chat(
            messages, max_tokens=args.max_tokens, temperature=TEMPERATURE, seed=SEED
        )
        return timed(response, ours.count_tokens)

    def run_raw() -> Run:
        return timed(raw_pieces(raw, raw_messages, args.max_tokens), ours.count_tokens)

    run_ours(), run_raw()  # warm-up: page in weights, fill the prompt cache on both
    ours_runs: list[Run] = []
    raw_runs: list[Run] = []
    for _ in range(max(5, args.runs)):
        ours_runs.append(run_ours())
        raw_runs.append(run_raw())

    own_share = profiled_share(run_ours)

    def median(values: Iterable[float]) -> float:
        return statistics.median(list(values))

    pairs = list(zip(ours_runs, raw_runs, strict=True))
    pair_ratios = [o.decode_rate / r.decode_rate for o, r in pairs]
    ratio = median(pair_ratios)
    cpu_ratios = [o.cpu_rate / r.cpu_rate for o, r in pairs]
    cpu_ratio = median(cpu_ratios)
    rows = [
        ("ours (ChatModel.chat)", ours_runs),
        ("raw create_chat_completion", raw_runs),
    ]
    lines = [
        "## Generation: ChatModel.chat vs raw llama-cpp-python (benchmark a)",
        "",
        f"Model {path.name}, CPU, {args.threads} threads, n_ctx {n_ctx}, max_tokens "
        f"{args.max_tokens}, temperature {TEMPERATURE}, seed {SEED}; {len(ours_runs)} "
        "alternating runs per side after one warm-up each. Decode rate = (tokens - 1) / "
        "(end - first piece); tokens counted with the model's tokenizer on the output.",
        "",
        "| side | median decode tok/s | median end-to-end tok/s | median tok per CPU-s "
        "| median first piece (ms) | median tokens |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, runs in rows:
        lines.append(
            f"| {name} | {median(r.decode_rate for r in runs):.1f} "
            f"| {median(r.end_to_end_rate for r in runs):.1f} "
            f"| {median(r.cpu_rate for r in runs):.1f} "
            f"| {median(r.first_piece_seconds for r in runs) * 1000:.0f} "
            f"| {median(r.tokens for r in runs):.0f} |"
        )

    def verdict(value: float) -> str:
        return "meets" if value >= 0.95 else "MISSES"

    lines += [
        "",
        f"**Median per-pair decode ratio ours/raw (wall clock): {ratio:.3f}** "
        f"({verdict(ratio)} the >= 0.95 goal; pairs: "
        f"{', '.join(f'{r:.3f}' for r in pair_ratios)}).",
        "",
        f"**Median per-pair ratio of tokens per CPU-second ours/raw: {cpu_ratio:.3f}** "
        f"({verdict(cpu_ratio)} the goal; pairs: {', '.join(f'{r:.3f}' for r in cpu_ratios)}). "
        "CPU time counts only this process, so it shows our overhead even when other "
        "processes make the wall clock noisy.",
        "",
        f"One profiled run of ours: {own_share * 100:.2f} % of the time is spent in "
        "CodeDreamer's own functions (lock, cancel checks, token counting, stats); the rest is "
        "llama-cpp-python and llama.cpp, which raw runs as well.",
        "",
        f"Load average when it finished: {load_average()}.",
        "",
        "Re-run: `python -m bench.bench_generation`.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("generation", body)
    ours.close()
    raw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
