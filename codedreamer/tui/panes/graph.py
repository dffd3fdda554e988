"""The knowledge graph pane: counts, tiers, average entanglement and the hottest nodes.

Fed by `GraphChanged` events (the engine sends one after each save) and, at start, by the
same summary built from the graph files in a worker. Node labels are file paths and dream
titles: shown as literal, one-line text.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from codedreamer.events import GraphChanged
from codedreamer.safe_text import safe_line

TIER_STYLE = {"hot": "bold red", "warm": "yellow", "cold": "cyan"}
TIER_CONTENT_STYLE = {"hot": "bold $error", "warm": "$warning", "cold": "$secondary"}
TIER_ORDER = ("hot", "warm", "cold")


def stats_line(graph: GraphChanged | None, problem: str = "") -> Content:
    if problem:
        return Content.assemble(("graph unavailable: ", "bold $error"), safe_line(problem))
    if graph is None:
        return Content.assemble(("loading the graph…", "$text-muted"))
    parts: list[str | tuple[str, str]] = [
        (f"{graph.nodes:,}", "bold"),
        " nodes · ",
        (f"{graph.edges:,}", "bold"),
        " edges · entangled ",
        (f"{graph.avg_entanglement:.2f}", "bold"),
    ]
    tiers = {k.lower(): v for k, v in graph.tiers.items()}
    for tier in TIER_ORDER:
        if tier in tiers:
            parts += ["  ", (f"{tier.upper()} {tiers[tier]}", TIER_CONTENT_STYLE[tier])]
    return Content.assemble(*parts)


WIDE_TABLE = 50
"""Below this width the table leaves out the kind and momentum columns."""


def hot_table(graph: GraphChanged | None, width: int = WIDE_TABLE) -> Table:
    wide = width >= WIDE_TABLE
    table = Table(box=None, expand=True, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    table.add_column("tier", no_wrap=True, width=4)
    table.add_column("node", ratio=1, no_wrap=True, overflow="ellipsis")
    if wide:
        table.add_column("kind", no_wrap=True, style="dim")
    table.add_column("edges", justify="right", no_wrap=True)
    if wide:
        table.add_column("mom", justify="right", no_wrap=True)
    for node in graph.hot if graph is not None else ():
        tier = node.tier.lower()
        cells = [
            Text(tier.upper(), style=TIER_STYLE.get(tier, "")),
            Text(safe_line(node.label or node.node_id)),
        ]
        if wide:
            cells.append(Text(safe_line(node.kind)))
        cells.append(Text(str(node.edges)))
        if wide:
            cells.append(Text(f"{node.momentum:.2f}"))
        table.add_row(*cells)
    return table


class GraphPane(Vertical):
    """Stats on one line, then the hot nodes with tier, kind, edge count and momentum."""

    DEFAULT_CSS = """
    GraphPane #graph-stats { height: auto; }
    GraphPane #graph-hot-scroll { height: 1fr; }
    GraphPane #graph-hot { height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.graph: GraphChanged | None = None
        self.problem = ""
        self._painted_width = WIDE_TABLE

    def compose(self) -> ComposeResult:
        yield Static(stats_line(None), id="graph-stats")
        with VerticalScroll(id="graph-hot-scroll"):
            yield Static(id="graph-hot")

    def show(self, graph: GraphChanged) -> None:
        # A save that reports counts without hot nodes keeps the last list of hot nodes.
        if not graph.hot and self.graph is not None and graph.nodes:
            graph = GraphChanged(
                nodes=graph.nodes,
                edges=graph.edges,
                avg_entanglement=graph.avg_entanglement or self.graph.avg_entanglement,
                tiers=graph.tiers or self.graph.tiers,
                hot=self.graph.hot,
                cycle=graph.cycle,
                timestamp=graph.timestamp,
            )
        self.graph, self.problem = graph, ""
        self._paint()

    def show_problem(self, problem: str) -> None:
        self.problem = problem
        self._paint()

    def _paint(self) -> None:
        if not self.is_mounted:
            return
        self.query_one("#graph-stats", Static).update(stats_line(self.graph, self.problem))
        width = self.size.width or WIDE_TABLE
        self.query_one("#graph-hot", Static).update(hot_table(self.graph, width))
        self._painted_width = width

    def on_mount(self) -> None:
        self._paint()

    def on_resize(self) -> None:
        if (self.size.width >= WIDE_TABLE) != (self._painted_width >= WIDE_TABLE):
            self._paint()
