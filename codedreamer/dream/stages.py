"""Run one generation stage (Think, Code, Critic): stream tokens out as events, stop on loops.

A stage owns nothing but the loop of one generation: the prompt comes in built, the text
goes out trimmed, and every token is reported as it arrives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codedreamer.dream.loop_detection import StreamingLoopDetector
from codedreamer.engine.events import EventSink, Stage, StageFinished, StageStarted, TokenStreamed

if TYPE_CHECKING:
    from codedreamer.models.runtime import ChatMessage, ChatModel


@dataclass(frozen=True)
class StageResult:
    stage: Stage
    text: str
    model_name: str
    completion_tokens: int
    seconds: float
    tokens_per_second: float
    finish_reason: str
    """stop, length, cancelled (by the user) or loop (stopped by the loop detector)."""


def run_stage(
    model: ChatModel,
    messages: Sequence[ChatMessage],
    *,
    stage: Stage,
    max_tokens: int,
    temperature: float,
    repeat_penalty: float,
    sink: EventSink,
    cancel: threading.Event | None = None,
    stop: Sequence[str] = (),
) -> StageResult:
    sink(StageStarted(stage=stage, model_name=model.name))
    detector = StreamingLoopDetector()
    started = time.perf_counter()
    pieces = 0
    response = model.chat(
        messages,
        max_tokens=max_tokens,
        temperature=temperature,
        repeat_penalty=repeat_penalty,
        stop=stop,
        cancel=cancel,
    )
    finish_reason = "stop"
    try:
        for piece in response:
            pieces += 1
            sink(TokenStreamed(stage=stage, text=piece))
            if detector.feed(piece):
                finish_reason = "loop"
                break
    finally:
        # Stopping iteration is the only way to stop llama.cpp; closing releases the model.
        response.close()
    seconds = time.perf_counter() - started
    stats = response.stats
    if finish_reason != "loop" and stats is not None:
        finish_reason = stats.finish_reason
    tokens = stats.completion_tokens if stats is not None else pieces
    rate = stats.tokens_per_second if stats is not None else (pieces / seconds if seconds else 0.0)
    sink(
        StageFinished(
            stage=stage,
            completion_tokens=tokens,
            seconds=seconds,
            tokens_per_second=rate,
            finish_reason=finish_reason,
        )
    )
    return StageResult(
        stage=stage,
        text=detector.good_text.strip(),
        model_name=model.name,
        completion_tokens=tokens,
        seconds=seconds,
        tokens_per_second=rate,
        finish_reason=finish_reason,
    )
