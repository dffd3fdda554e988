"""Detect a generation that has started repeating itself, while it streams.

Small models fall into loops ("the function is called. the function is called. ...").
The detector looks for the text ending in the same block repeated several times, so the
stage can stop the model at once instead of paying for max_tokens of garbage, and keep
the text only up to the first copy of the repeated block.
"""

from __future__ import annotations

from dataclasses import dataclass

# Short periods need more repetitions before they count: "}\n}\n" is legitimate code,
# six copies of the same short line in a row are not.
_MIN_PERIOD = 8
_MAX_PERIOD = 400
_SHORT_PERIOD = 24
_REPEATS_SHORT = 6
_REPEATS_LONG = 3


@dataclass(frozen=True)
class LoopFound:
    period: int
    repeats: int
    keep_chars: int
    """Length of the prefix to keep: the text up to the end of the first copy."""


def find_tail_loop(text: str) -> LoopFound | None:
    """Return the repetition the text ends in, if it ends in one; None otherwise."""
    n = len(text)
    for period in range(_MIN_PERIOD, min(_MAX_PERIOD, n // 2) + 1):
        needed = _REPEATS_SHORT if period < _SHORT_PERIOD else _REPEATS_LONG
        if period * needed > n:
            break
        block = text[n - period :]
        if not block.strip():
            continue
        repeats = 1
        while repeats < needed and text[n - (repeats + 1) * period : n - repeats * period] == block:
            repeats += 1
        if repeats >= needed:
            # Walk the loop's start back to where the repetition really began, so the kept
            # text ends with one whole copy rather than mid-sentence.
            start = n - repeats * period
            while start > 0 and text[start - 1] == text[start - 1 + period]:
                start -= 1
            return LoopFound(
                period=period, repeats=repeats, keep_chars=_natural_cut(text, start, period)
            )
    return None


def _natural_cut(text: str, start: int, period: int) -> int:
    """End of one whole copy of the loop, aligned to a line or sentence end when possible.

    Any rotation of the repeated block is a valid "first copy"; cutting where a line or
    sentence ends keeps the kept text readable.
    """
    for terminators in ("\n", ".!?"):
        for offset in range(period):
            end = start + offset + period
            if end <= len(text) and text[end - 1] in terminators:
                return end
    return start + period


class StreamingLoopDetector:
    """Feed streamed pieces; `feed` returns True once the text has fallen into a loop."""

    def __init__(self, check_every_chars: int = 16) -> None:
        self._text: list[str] = []
        self._length = 0
        self._since_check = 0
        self._check_every = check_every_chars
        self.loop: LoopFound | None = None

    def feed(self, piece: str) -> bool:
        self._text.append(piece)
        self._length += len(piece)
        self._since_check += len(piece)
        if self.loop is None and self._since_check >= self._check_every:
            self._since_check = 0
            # Only the tail can hold a loop that just closed; bound the work per check.
            window = "".join(self._text)[-(_MAX_PERIOD * _REPEATS_LONG + _MAX_PERIOD) :]
            found = find_tail_loop(window)
            if found is not None:
                offset = self._length - len(window)
                self.loop = LoopFound(found.period, found.repeats, offset + found.keep_chars)
        return self.loop is not None

    @property
    def good_text(self) -> str:
        """The text so far, cut after the first copy of a detected loop."""
        text = "".join(self._text)
        return text[: self.loop.keep_chars].rstrip() if self.loop else text
