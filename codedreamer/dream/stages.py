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
from codedreamer.events import EventSink, Stage, StageFinished, StageStarted, TokenStreamed

if TYPE_CHECKING:
    from codedreamer.models.runtime import ChatMessage, ChatModel


DEFAULT_MAX_EMPTY_PIECES = 64
"""Tokens in a row that add no text before a generation counts as stalled. A token can
legitimately add nothing (half of a multi-byte character), but not dozens in a row."""
DEFAULT_BASE_SECONDS = 120.0
DEFAULT_SECONDS_PER_TOKEN = 1.0
"""The default wall-time limit is DEFAULT_BASE_SECONDS plus this per allowed token: 1
token/s. The bundled model managed 0.9-1.3 tokens/s on two cores shared by eight busy
processes (measured), so only a stuck stage hits it; a stall of empty pieces is caught
much sooner by DEFAULT_MAX_EMPTY_PIECES."""


def default_time_limit(max_tokens: int) -> float:
    """The wall-time limit of a stage allowed `max_tokens` tokens, in seconds."""
    return DEFAULT_BASE_SECONDS + DEFAULT_SECONDS_PER_TOKEN * max_tokens


@dataclass(frozen=True)
class StageResult:
    stage: Stage
    text: str
    model_name: str
    completion_tokens: int
    seconds: float
    tokens_per_second: float
    finish_reason: str
    """stop, length, cancelled (by the user), loop (stopped by the loop detector), timeout
    (past the stage's wall-time limit) or stalled (only empty pieces for too long)."""


class _StageGuard(threading.Event):
    """The cancel event handed to the model: set by the user, or by a limit of this stage.

    The runtime asks `is_set()` before every streamed chunk and after every sampled token,
    so the limits are checked there, inside llama.cpp's loop: a stream that produces only
    empty pieces never reaches the stage's own loop, and would otherwise run unchecked.
    """

    def __init__(
        self, user_cancel: threading.Event | None, deadline: float, max_empty: int
    ) -> None:
        super().__init__()
        self._user_cancel = user_cancel
        self._deadline = deadline
        self._max_empty = max_empty
        self.tripped: str | None = None
        self.response: object | None = None
        self.tokens_at_last_text = 0

    def is_set(self) -> bool:
        if self.tripped is not None:
            return True
        if self._user_cancel is not None and self._user_cancel.is_set():
            return True
        if time.monotonic() >= self._deadline:
            self.tripped = "timeout"
            return True
        sampled = getattr(self.response, "completion_tokens_so_far", None)
        if isinstance(sampled, int) and sampled - self.tokens_at_last_text > self._max_empty:
            self.tripped = "stalled"
            return True
        return False

    def text_arrived(self) -> None:
        sampled = getattr(self.response, "completion_tokens_so_far", None)
        if isinstance(sampled, int):
            self.tokens_at_last_text = sampled


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
    time_limit: float | None = None,
    max_empty_pieces: int = DEFAULT_MAX_EMPTY_PIECES,
) -> StageResult:
    """Stream one generation; stop it on a loop, a cancel, `time_limit` seconds of wall time
    (default `default_time_limit(max_tokens)`) or `max_empty_pieces` empty pieces in a row."""
    sink(StageStarted(stage=stage, model_name=model.name))
    detector = StreamingLoopDetector()
    started = time.perf_counter()
    limit = default_time_limit(max_tokens) if time_limit is None else time_limit
    guard = _StageGuard(cancel, time.monotonic() + limit, max_empty_pieces)
    pieces = 0
    empty_run = 0
    response = model.chat(
        messages,
        max_tokens=max_tokens,
        temperature=temperature,
        repeat_penalty=repeat_penalty,
        stop=stop,
        cancel=guard,
    )
    guard.response = response
    finish_reason = "stop"
    try:
        for piece in response:
            if piece:
                empty_run = 0
                guard.text_arrived()
                pieces += 1
                sink(TokenStreamed(stage=stage, text=piece))
                if detector.feed(piece):
                    finish_reason = "loop"
                    break
            else:
                empty_run += 1
                if empty_run > max_empty_pieces:
                    guard.tripped = "stalled"
            # A response that does not consult the cancel event still stops here.
            if guard.is_set():
                break
    finally:
        # Stopping iteration is the only way to stop llama.cpp; closing releases the model.
        response.close()
    seconds = time.perf_counter() - started
    stats = response.stats
    if finish_reason != "loop":
        if guard.tripped is not None:
            finish_reason = guard.tripped
        elif cancel is not None and cancel.is_set():
            finish_reason = "cancelled"
        elif stats is not None:
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
