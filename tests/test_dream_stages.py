"""run_stage: streaming, loop stop, and the time and empty-piece limits of a stage.

The limits are unit-tested with fake responses shaped like the runtime's (an iterator of
pieces that consults the cancel event, with `completion_tokens_so_far` and `stats`), and
proven once on the real bundled model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from codedreamer.dream.stages import default_time_limit, run_stage
from codedreamer.events import Event, StageFinished, TokenStreamed
from codedreamer.models.data import ChatMessage, FinishReason, GenerationStats
from codedreamer.models.runtime import ChatModel

MESSAGES = [ChatMessage("user", "Count from 1 to 50, one number per line.")]


class FakeResponse:
    """Like ChatResponse: pieces stream while `cancel` is clear; stats when it ends.

    `tokens` are the sampled tokens: "" is a token that adds no text (the runtime does not
    yield those, it only counts them), `None` a token the runtime would yield as "".
    """

    def __init__(
        self, tokens: Sequence[str | None], cancel: threading.Event | None, delay: float
    ) -> None:
        self._tokens = tokens
        self._cancel = cancel
        self._delay = delay
        self.completion_tokens_so_far = 0
        self.stats: GenerationStats | None = None
        self.closed = False

    def __iter__(self) -> Iterator[str]:
        reason: FinishReason = "stop"
        for token in self._tokens:
            if self._cancel is not None and self._cancel.is_set():
                reason = "cancelled"
                break
            time.sleep(self._delay)
            self.completion_tokens_so_far += 1
            if token is None:
                yield ""
            elif token:
                yield token
        self.stats = GenerationStats(0, self.completion_tokens_so_far, None, 0.1, 10.0, reason)

    def close(self) -> None:
        self.closed = True
        if self.stats is None:
            self.stats = GenerationStats(
                0, self.completion_tokens_so_far, None, 0.1, 10.0, "cancelled"
            )


class FakeModel:
    name = "fake"

    def __init__(self, tokens: Sequence[str | None], delay: float = 0.0) -> None:
        self.tokens = tokens
        self.delay = delay
        self.response: FakeResponse | None = None

    def chat(self, messages: Any, *, cancel: threading.Event | None = None, **_: Any) -> Any:
        self.response = FakeResponse(self.tokens, cancel, self.delay)
        return self.response


def run(model: object, **limits: Any) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    result = run_stage(
        model,  # type: ignore[arg-type]
        MESSAGES,
        stage="think",
        max_tokens=64,
        temperature=0.0,
        repeat_penalty=1.0,
        sink=events.append,
        **limits,
    )
    return result, events


def test_a_normal_stream_finishes_with_the_models_reason() -> None:
    result, events = run(FakeModel(["TITLE", ": x", "\n"]))
    assert result.finish_reason == "stop" and result.text == "TITLE: x"
    assert [e.text for e in events if isinstance(e, TokenStreamed)] == ["TITLE", ": x", "\n"]


def test_tokens_that_add_no_text_stop_the_stage_as_stalled() -> None:
    # The runtime swallows empty pieces: only the cancel check inside its loop can stop it.
    model = FakeModel(["Hello", *([""] * 10_000)])
    result, events = run(model, max_empty_pieces=20)
    assert result.finish_reason == "stalled" and result.text == "Hello"
    assert model.response is not None and model.response.completion_tokens_so_far <= 23
    assert model.response.closed
    finished = [e for e in events if isinstance(e, StageFinished)]
    assert finished[0].finish_reason == "stalled"


def test_empty_pieces_yielded_in_a_row_stop_the_stage_as_stalled() -> None:
    result, _ = run(FakeModel(["Hi", *([None] * 1000)]), max_empty_pieces=5)
    assert result.finish_reason == "stalled" and result.text == "Hi"


def test_a_few_empty_pieces_are_not_a_stall() -> None:
    result, _ = run(FakeModel(["a", "", "", None, "b"]), max_empty_pieces=5)
    assert result.finish_reason == "stop" and result.text == "ab"


def test_a_stage_past_its_time_limit_stops_as_timeout() -> None:
    model = FakeModel([f"word{i} " for i in range(1000)], delay=0.01)
    started = time.perf_counter()
    result, _ = run(model, time_limit=0.2)
    assert result.finish_reason == "timeout"
    assert time.perf_counter() - started < 1.0
    assert 0 < len(result.text.split()) < 1000


def test_a_user_cancel_is_still_a_cancel() -> None:
    cancel = threading.Event()
    cancel.set()
    result, _ = run(FakeModel(["a", "b"]), cancel=cancel)
    assert result.finish_reason == "cancelled" and result.text == ""


def test_default_time_limit_scales_with_max_tokens() -> None:
    assert default_time_limit(0) == 120.0
    assert default_time_limit(4000) == 120.0 + 4000.0


@pytest.mark.model
def test_the_real_model_is_stopped_by_a_tiny_time_limit(bundled_chat_model: ChatModel) -> None:
    started = time.perf_counter()
    result, _ = run(bundled_chat_model, time_limit=0.05)
    assert result.finish_reason == "timeout"
    assert result.completion_tokens < 64
    # Prefill cannot be interrupted; decoding stops at the next token after the limit.
    assert time.perf_counter() - started < 5.0
    # The model is free again: a second generation runs to its natural end.
    again, _ = run(bundled_chat_model)
    assert again.finish_reason in {"stop", "length"} and again.completion_tokens > 0
