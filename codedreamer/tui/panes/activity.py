"""Neural activity: measured tokens per second of each finished generation, as a sparkline.

Every point is a rate the model runtime measured (`StageFinished.tokens_per_second`), or,
at start, the rate recorded in a stored dream's timings. Nothing is interpolated or made
up: with no measurement yet the pane says so.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

from codedreamer.storage.dream import Dream

HISTORY = 120
RATE_TIMING_KEYS = ("think_tokens_per_second", "code_tokens_per_second")


def rates_from_dreams(dreams: Iterable[Dream]) -> list[float]:
    """Measured Think-stage rates stored in dream timings, oldest first."""
    rates: list[float] = []
    for dream in sorted(dreams, key=lambda d: (d.created, d.id)):
        for key in RATE_TIMING_KEYS:
            value = dream.timings.get(key)
            if isinstance(value, int | float) and value > 0:
                rates.append(float(value))
    return rates[-HISTORY:]


class Activity(Vertical):
    """A sparkline of tok/s per generation and a line with the latest, mean and peak."""

    DEFAULT_CSS = """
    Activity #activity-label { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    Activity Sparkline { height: 1fr; min-height: 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rates: deque[float] = deque(maxlen=HISTORY)
        self.seeded = False

    def compose(self) -> ComposeResult:
        yield Static(id="activity-label")
        yield Sparkline([], id="activity-spark")

    def on_mount(self) -> None:
        self._paint()

    def seed(self, rates: Iterable[float]) -> None:
        """Fill the history from stored dreams once, before live measurements arrive."""
        if self.seeded:
            return
        self.seeded = True
        live = list(self.rates)
        self.rates.clear()
        self.rates.extend([*rates, *live])
        self._paint()

    def add(self, rate: float) -> None:
        if rate > 0:
            self.rates.append(rate)
            self._paint()

    def title(self) -> Content:
        if not self.rates:
            return Content("Activity · tok/s")
        return Content.assemble("Activity · ", (f"{self.rates[-1]:.1f}", "bold"), " tok/s")

    def label(self) -> Content:
        if not self.rates:
            return Content.assemble(("no generation measured yet", "$text-muted"))
        rates = list(self.rates)
        mean = sum(rates) / len(rates)
        return Content.assemble(
            ("mean ", "$text-muted"),
            f"{mean:.1f}",
            (" · peak ", "$text-muted"),
            f"{max(rates):.1f}",
            (" · low ", "$text-muted"),
            f"{min(rates):.1f}",
            (f" · {len(rates)} runs", "$text-muted"),
        )

    def _paint(self) -> None:
        if not self.is_mounted:
            return
        self.border_title = self.title()
        self.query_one("#activity-label", Static).update(self.label())
        self.query_one(Sparkline).data = list(self.rates)
