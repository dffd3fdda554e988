"""Pipeline tokens/s: every generation of real dream cycles against raw llama-cpp-python.

Runs real Engine cycles (index, selection, context, Think, Code, Critic, Reflect; validation
lenient so every stage runs on the toy model) and records each model call the pipeline
makes. After each cycle, the same calls are replayed on a separate raw `llama_cpp.Llama`
(same GGUF, n_ctx, threads; same messages, max_tokens, temperature, repeat_penalty, top_p,
stop, grammar), so drift in machine load hits both sides alike.

Ours is timed as the pipeline sees it, from the stage's own events: StageStarted (before
the prompt is counted) to the first TokenStreamed and to StageFinished, so the per-token
work of the stage (events, loop detection, stall guard, cancel checks) is inside the
figure. Raw is timed around `create_chat_completion(stream=True)`. Tokens are counted with
the model's tokenizer on each side's text. Temperature is set to 0 so both sides generate
the same tokens. Process CPU time per stage is recorded on both sides too: on a shared
machine it shows our overhead more steadily than the wall clock.

    python -m bench.bench_pipeline_rate [--cycles 4] [--max-tokens 96] [--threads 1] [--no-write]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.bench_cycle import cycle_settings, lenient
from bench.bench_generation import Run, load_average, timed
from bench.report import write_section
from codedreamer.engine.engine import Engine
from codedreamer.events import Event, StageFinished, StageStarted, TokenStreamed
from codedreamer.models.quiet import stderr_to_file
from codedreamer.models.runtime import ChatModel

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Timed(Run):
    """One generation of one stage, timed from outside (bench_generation's rates)."""

    stage: str = ""


@dataclass
class Call:
    """What the pipeline asked the model for, enough to ask raw llama-cpp-python the same."""

    params: dict[str, Any]


class Recorder:
    """Wraps a ChatModel's `chat` (instance attribute) to keep each call's parameters."""

    def __init__(self, model: ChatModel) -> None:
        self.calls: list[Call] = []
        self._model = model
        self._chat = model.chat
        model.chat = self._record  # type: ignore[method-assign]

    def _record(self, messages: Any, **options: Any) -> Any:
        params: dict[str, Any] = {
            "messages": self._model._message_dicts(messages),
            "max_tokens": options["max_tokens"],
            "temperature": options["temperature"],
            "repeat_penalty": options.get("repeat_penalty", 1.0),
            "top_p": options.get("top_p", 0.95),
            "stop": list(options.get("stop", ())),
            "seed": options.get("seed"),
        }
        schema = options.get("json_schema")
        if schema is not None:
            params["grammar"] = self._model._grammar_for(schema)
        self.calls.append(Call(params))
        return self._chat(messages, **options)


class StageClock:
    """An event sink that times each stage from its own events, with process CPU time."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.timed: list[Timed] = []
        self._start: tuple[float, float] | None = None
        self._first: float | None = None
        self._text: list[str] = []
        self.texts: list[str] = []
        """Each timed stage's streamed text, in the order of `timed`."""

    def __call__(self, event: Event) -> None:
        now = time.perf_counter()
        if isinstance(event, StageStarted):
            self._start = (now, time.process_time())
            self._first, self._text = None, []
        elif isinstance(event, TokenStreamed) and self._start is not None:
            if self._first is None:
                self._first = now - self._start[0]
            self._text.append(event.text)
        elif isinstance(event, StageFinished) and self._start is not None:
            began, cpu = self._start
            total = now - began
            self.timed.append(
                Timed(
                    self._first if self._first is not None else total,
                    total,
                    time.process_time() - cpu,
                    -1,  # counted later with the tokenizer, on `texts`
                    stage=event.stage,
                )
            )
            self.texts.append("".join(self._text))
            self._start = None
        self.events.append(event)


def raw_run(llama: Any, call: Call, count: Callable[[str], int], stage: str) -> Timed:
    def pieces() -> Iterator[str]:
        for chunk in llama.create_chat_completion(**call.params, stream=True):
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                yield piece

    return Timed(**asdict(timed(pieces(), count)), stage=stage)


AB_PROMPT = (
    "Write a Python module with ten small functions about calendar dates, each with a "
    "docstring and a short example in it."
)


def stage_vs_raw(
    model: ChatModel, raw: Any, pairs: int, max_tokens: int
) -> tuple[list[Timed], list[Timed]]:
    """The stage runner (dream/stages.py: events, loop detector, limits) against raw
    llama-cpp-python on one fixed prompt, alternating, after a warm-up of each: the same
    generation every time, so the ratio is not spread by different prompts."""
    from codedreamer.dream.stages import run_stage
    from codedreamer.models.runtime import ChatMessage

    messages = [ChatMessage("user", AB_PROMPT)]
    call = Call(
        {
            "messages": model._message_dicts(messages),
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "repeat_penalty": 1.0,
            "top_p": 0.95,
            "stop": [],
            "seed": None,
        }
    )

    def staged() -> Timed:
        clock = StageClock([])
        result = run_stage(
            model,
            messages,
            stage="think",
            max_tokens=max_tokens,
            temperature=0.0,
            repeat_penalty=1.0,
            sink=clock,
            time_limit=600,
        )
        (timed_stage,) = clock.timed
        timed_stage.tokens = model.count_tokens(result.text)
        return timed_stage

    staged(), raw_run(raw, call, model.count_tokens, "raw")  # warm-up
    ours: list[Timed] = []
    theirs: list[Timed] = []
    for _ in range(pairs):
        ours.append(staged())
        theirs.append(raw_run(raw, call, model.count_tokens, "raw"))
    return ours, theirs


def median(values: Iterable[float]) -> float:
    items = list(values)
    return statistics.median(items) if items else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--codebase", type=Path, default=ROOT / "codedreamer" / "dream")
    parser.add_argument("--ab-pairs", type=int, default=8, help="stage-vs-raw pairs")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)

    import llama_cpp

    ours: list[Timed] = []
    raws: list[Timed] = []
    with tempfile.TemporaryDirectory() as tmp:
        # Temperature 0: both sides then generate the same tokens.
        repo, settings = cycle_settings(
            Path(tmp), args.codebase, args.threads, DREAMER_DREAM_TEMPERATURE="0"
        )
        clock = StageClock([])
        engine = Engine(settings, repo, clock, rng=random.Random(1))
        engine.steps = [
            (name, lenient if name == "validate" else step) for name, step in engine.steps
        ]
        engine.ensure_index()
        model = engine.models.reasoning
        model.load()
        recorder = Recorder(model)
        with stderr_to_file():
            raw = llama_cpp.Llama(
                model_path=str(model.spec.path),
                n_ctx=model.n_ctx,
                n_threads=args.threads,
                n_threads_batch=args.threads,
                verbose=False,
            )
        try:
            for cycle in range(args.cycles):
                first_call, first_timed = len(recorder.calls), len(clock.timed)
                engine.dream_once(max_tokens=args.max_tokens)
                calls = recorder.calls[first_call:]
                stages = clock.timed[first_timed:]
                if len(calls) != len(stages):
                    print(
                        f"cycle {cycle + 1}: {len(calls)} calls but {len(stages)} stages; skipped",
                        file=sys.stderr,
                    )
                    continue
                for call, stage_run, text in zip(
                    calls, stages, clock.texts[first_timed:], strict=True
                ):
                    stage_run.tokens = model.count_tokens(text)
                    ours.append(stage_run)
                    raws.append(raw_run(raw, call, model.count_tokens, stage_run.stage))
                print(
                    f"cycle {cycle + 1}: "
                    + ", ".join(
                        f"{t.stage} {t.tokens} tok {t.total_seconds:.1f} s" for t in stages
                    ),
                    file=sys.stderr,
                    flush=True,
                )
            ab_ours, ab_raw = stage_vs_raw(model, raw, args.ab_pairs, 128)
        finally:
            engine.close()
            raw.close()

    pairs = [(o, r) for o, r in zip(ours, raws, strict=True) if o.tokens > 8 and r.tokens > 8]
    ab = list(zip(ab_ours, ab_raw, strict=True))
    ab_decode = [o.decode_rate / r.decode_rate for o, r in ab if r.decode_rate]
    decode = [o.decode_rate / r.decode_rate for o, r in pairs if r.decode_rate]
    end_to_end = [o.end_to_end_rate / r.end_to_end_rate for o, r in pairs if r.end_to_end_rate]
    cpu = [o.cpu_rate / r.cpu_rate for o, r in pairs if r.cpu_rate]
    same_tokens = sum(o.tokens == r.tokens for o, r in pairs)
    stage_names = sorted({o.stage for o, _ in pairs})

    def verdict(value: float) -> str:
        return "meets" if value >= 0.95 else "MISSES"

    lines = [
        "## Pipeline tokens/s: dream cycles vs raw llama-cpp-python",
        "",
        f"`python -m bench.bench_pipeline_rate --cycles {args.cycles} --max-tokens "
        f"{args.max_tokens} --threads {args.threads}`: real Engine cycles on the bundled model "
        "over a copy of `codedreamer/dream` (validation lenient so Think, Code, Critic and "
        "Reflect all run; temperature 0), each generation replayed on a raw `llama_cpp.Llama` "
        "right after its cycle with the same messages and sampling parameters. Ours is timed "
        "from the stage's own events (StageStarted, first TokenStreamed, StageFinished), so "
        "the stage's per-token work is inside it; tokens counted with the model's tokenizer. "
        f"{len(pairs)} generations of more than 8 tokens ({', '.join(stage_names)}); "
        f"{same_tokens} of them produced the same number of tokens on both sides.",
        "",
        "| side | median decode tok/s | median end-to-end tok/s | median tok per CPU-s "
        "| median first piece (ms) | median tokens |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, side in (
        ("pipeline (Engine stages)", [o for o, _ in pairs]),
        ("raw", [r for _, r in pairs]),
    ):
        lines.append(
            f"| {name} | {median(t.decode_rate for t in side):.1f} "
            f"| {median(t.end_to_end_rate for t in side):.1f} "
            f"| {median(t.cpu_rate for t in side):.1f} "
            f"| {median(t.first_piece_seconds for t in side) * 1000:.0f} "
            f"| {median(t.tokens for t in side):.0f} |"
        )
    ratio = median(decode)
    lines += [
        "",
        f"**Median per-generation decode ratio pipeline/raw: {ratio:.3f}** ({verdict(ratio)} "
        f"the >= 0.95 goal; pairs: {', '.join(f'{v:.2f}' for v in decode)}).",
        "",
        f"End to end (prompt counting and prefill included): median ratio "
        f"{median(end_to_end):.3f}; tokens per process CPU-second: median ratio "
        f"{median(cpu):.3f}.",
        "",
        "The cycles' generations differ in prompt and length, and on this shared 2-core "
        "machine one 64-token decode swings by a third between runs; so the same run also "
        f"times the stage runner (`dream/stages.py::run_stage`) against raw on one fixed "
        f"prompt, 128 tokens, {len(ab_ours)} alternating pairs after a warm-up each:",
        "",
        f"**Stage runner / raw, median per-pair decode ratio: {median(ab_decode):.3f}** "
        f"({verdict(median(ab_decode))} the >= 0.95 goal; pairs: "
        f"{', '.join(f'{v:.2f}' for v in ab_decode)}); tokens per CPU-second: median ratio "
        f"{median(o.cpu_rate / r.cpu_rate for o, r in ab if r.cpu_rate):.3f}.",
        "",
        f"Load average when it finished: {load_average()}.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("pipeline-rate", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
