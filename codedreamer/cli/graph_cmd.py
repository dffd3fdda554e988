"""`codedreamer graph stats|hot|entangled|backfill|decay|prune`: inspect and maintain the graph.

Every command loads the graph from DATA_DIR/graph; a corrupt file is a one-line error and
stays untouched, and the mutating ones save it back atomically. With no graph saved yet,
every command but `backfill` (which builds one from the code index) is a one-line usage
error saying how to make one, as `search` is without an index. Node ids, labels and paths
come from code, file names and model output: they are printed as plain Text with control
characters made visible (safe_line), never as Rich markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import typer

from codedreamer.cli.common import (
    finite_range,
    print_json,
    require_data,
    settings_from,
    stdout_console,
    usable_data,
)
from codedreamer.safe_text import safe_line

if TYPE_CHECKING:
    from pathlib import Path

    from codedreamer.config.settings import Settings
    from codedreamer.memory.graph import KnowledgeGraph
    from codedreamer.memory.graph_types import BackfillReport, GraphNode, GraphStats, NodeKind

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts.")
LIMIT_MAX = 100_000
NEIGHBOURS_MAX = 1_000
LIMIT_OPTION = typer.Option(
    20, "--limit", "-n", min=1, max=LIMIT_MAX, help="How many nodes to show."
)
KIND_OPTION = typer.Option(
    None, "--kind", help="Only nodes of this kind: CODE, DREAM, CONCEPT or FACT."
)


def register(app: typer.Typer) -> None:
    graph_app = typer.Typer(
        help="The knowledge graph: statistics, hot and entangled nodes, maintenance.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    graph_app.command("stats")(stats)
    graph_app.command("hot")(hot)
    graph_app.command("entangled")(entangled)
    graph_app.command("backfill")(backfill)
    graph_app.command("decay")(decay)
    graph_app.command("prune")(prune)
    app.add_typer(graph_app, name="graph")


# --------------------------------------------------------------------------- helpers


GRAPH = "knowledge graph"
NO_GRAPH_HINT = (
    "`codedreamer dream` makes one, or `codedreamer graph backfill` builds it from the code index"
)


def _open(ctx: typer.Context) -> tuple[Settings, KnowledgeGraph]:
    """Settings and the saved graph; UsageError (exit 2) when there is no graph to read."""
    from codedreamer.errors import UsageError
    from codedreamer.memory.graph_store import graph_files, load_graph

    settings = settings_from(ctx).settings
    directory = settings.graph_dir
    require_data(directory, what=GRAPH, hint=NO_GRAPH_HINT)
    if not any(path.exists() for path in graph_files(directory)):
        raise UsageError(f"{directory}: no {GRAPH} yet; {NO_GRAPH_HINT}")
    return settings, load_graph(directory)


def _save(graph: KnowledgeGraph, directory: Path) -> None:
    from codedreamer.memory.graph_store import save_graph

    save_graph(graph, directory)


def _kinds(kind: str | None) -> list[NodeKind] | None:
    from codedreamer.errors import UsageError
    from codedreamer.memory.graph_types import NodeKind

    if kind is None:
        return None
    try:
        return [NodeKind[kind.strip().upper()]]
    except KeyError:
        names = ", ".join(k.name for k in NodeKind)
        raise UsageError(f"--kind: unknown node kind {kind!r} (one of {names})") from None


def _node_json(node: GraphNode) -> dict[str, Any]:
    return {
        "id": node.id,
        "kind": node.kind.label,
        "label": node.label,
        "detail": node.detail,
        "path": node.path,
        "start_line": node.start_line,
        "end_line": node.end_line,
        "momentum": round(node.momentum, 6),
        "tier": node.tier.value,
        "entanglement": round(node.entanglement, 6),
        "created": node.created,
        "last_access": node.last_access,
    }


def _stats_json(stats: GraphStats) -> dict[str, Any]:
    return {
        "nodes": stats.nodes,
        "edges": stats.edges,
        "nodes_by_kind": stats.nodes_by_kind,
        "nodes_by_tier": stats.nodes_by_tier,
        "edges_by_kind": stats.edges_by_kind,
        "mean_momentum": round(stats.mean_momentum, 6),
        "mean_entanglement": round(stats.mean_entanglement, 6),
    }


def _print_nodes(title: str, nodes: list[GraphNode]) -> None:
    from rich.table import Table
    from rich.text import Text

    console = stdout_console()
    if not nodes:
        console.print(Text(f"{title}: the graph has no nodes yet."))
        return
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Kind", no_wrap=True)
    table.add_column("Tier", no_wrap=True)
    table.add_column("Momentum", justify="right", no_wrap=True)
    table.add_column("Entangl.", justify="right", no_wrap=True)
    table.add_column("Node", overflow="fold")
    styles = {"HOT": "bold red", "WARM": "yellow", "COLD": "blue"}
    for rank, node in enumerate(nodes, 1):
        where = node.path
        if node.start_line:
            where += f":{node.start_line}-{node.end_line}"
        shown = Text(safe_line(node.label or node.id))
        if where and where != node.label:
            shown.append(f"  {safe_line(where)}", style="dim")
        table.add_row(
            str(rank),
            node.kind.label,
            Text(node.tier.value, style=styles[node.tier.value]),
            f"{node.momentum:.3f}",
            f"{node.entanglement:.3f}",
            shown,
        )
    console.print(table)


def _print_stats(stats: GraphStats, heading: str = "Knowledge graph") -> None:
    from rich.table import Table

    table = Table(title=heading, title_justify="left", show_header=False)
    table.add_column("What", no_wrap=True)
    table.add_column("Value", justify="right")
    table.add_row("nodes", str(stats.nodes))
    table.add_row("edges", str(stats.edges))
    for kind, count in stats.nodes_by_kind.items():
        table.add_row(f"  {safe_line(kind)} nodes", str(count))
    for tier, count in stats.nodes_by_tier.items():
        table.add_row(f"  {tier}", str(count))
    for kind, count in stats.edges_by_kind.items():
        table.add_row(f"  {safe_line(kind)} edges", str(count))
    table.add_row("mean momentum", f"{stats.mean_momentum:.3f}")
    table.add_row("mean entanglement", f"{stats.mean_entanglement:.3f}")
    stdout_console().print(table)


# --------------------------------------------------------------------------- commands


def stats(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Node and edge counts by kind and tier, mean momentum and entanglement."""
    _, graph = _open(ctx)
    result = graph.stats()
    if as_json:
        print_json(_stats_json(result))
    else:
        _print_stats(result)


def hot(
    ctx: typer.Context,
    limit: int = LIMIT_OPTION,
    kind: str | None = KIND_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The nodes with the highest momentum right now."""
    _show_ranked(ctx, "hot", kind, limit, as_json, "Hot nodes (highest momentum)")


def entangled(
    ctx: typer.Context,
    limit: int = LIMIT_OPTION,
    kind: str | None = KIND_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The most connected nodes (entanglement, see docs/graph_edges.md)."""
    _show_ranked(ctx, "entangled", kind, limit, as_json, "Most entangled nodes")


def _show_ranked(
    ctx: typer.Context,
    ranking: Literal["hot", "entangled"],
    kind: str | None,
    limit: int,
    as_json: bool,
    title: str,
) -> None:
    kinds = _kinds(kind)
    _, graph = _open(ctx)
    query = graph.hot if ranking == "hot" else graph.entangled
    nodes = query(limit, kinds=kinds)
    if as_json:
        print_json([_node_json(node) for node in nodes])
    else:
        _print_nodes(title, nodes)


def decay(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Apply momentum decay up to now (safe to run at any interval: decay never compounds)."""
    settings, graph = _open(ctx)
    before = graph.stats()
    count = graph.decay()
    after = graph.stats()
    _save(graph, settings.graph_dir)
    if as_json:
        print_json({"decayed": count, "before": _stats_json(before), "after": _stats_json(after)})
        return
    from rich.text import Text

    tiers = " ".join(f"{t} {n}" for t, n in after.nodes_by_tier.items())
    stdout_console().print(Text(f"Decayed {count} nodes; tiers now: {tiers}."))


def prune(
    ctx: typer.Context,
    threshold: float = typer.Option(
        0.4,
        "--threshold",
        callback=finite_range(0.0, 1.0),
        help="Remove nodes whose momentum is below this (0 to 1).",
    ),
    include_code: bool = typer.Option(
        False,
        "--include-code",
        help="Also prune CODE nodes (normally kept: they mirror the index).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove cold nodes (momentum below --threshold) and their edges."""
    settings, graph = _open(ctx)
    edges_before = graph.edge_count
    removed = graph.prune(threshold, include_code=include_code)
    edges_removed = edges_before - graph.edge_count
    if removed:
        _save(graph, settings.graph_dir)
    if as_json:
        print_json({"removed_nodes": removed, "removed_edges": edges_removed})
        return
    from rich.text import Text

    stdout_console().print(
        Text(f"Pruned {removed} nodes and {edges_removed} edges (momentum < {threshold}).")
    )


def backfill(
    ctx: typer.Context,
    k: int = typer.Option(
        5, "--k", min=1, max=NEIGHBOURS_MAX, help="Similar neighbours considered per node."
    ),
    threshold: float = typer.Option(
        0.8,
        "--threshold",
        callback=finite_range(-1.0, 1.0),
        help="Minimum cosine similarity for a similar edge (-1 to 1).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create edges for existing nodes; with a code index, first sync CODE nodes from it."""
    from codedreamer.errors import UsageError
    from codedreamer.memory.code_sync import backfill_graph_only
    from codedreamer.memory.graph import KnowledgeGraph
    from codedreamer.memory.graph_store import graph_files, load_graph

    settings = settings_from(ctx).settings
    has_graph = usable_data(settings.graph_dir, what=GRAPH) and any(
        path.exists() for path in graph_files(settings.graph_dir)
    )
    has_index = usable_data(settings.index_dir, what="code index")
    if not has_graph and not has_index:
        raise UsageError(
            f"{settings.index_dir}: no code index yet, and no {GRAPH} at {settings.graph_dir}; "
            "run `codedreamer index` first"
        )
    graph = load_graph(settings.graph_dir) if has_graph else KnowledgeGraph()
    report = _backfill_with_index(settings, graph, k=k, threshold=threshold)
    if report is None:
        report = backfill_graph_only(graph)
        report = _with_note(report, f"no code index at {settings.index_dir}: graph-only backfill")
    _save(graph, settings.graph_dir)
    _print_backfill(report, graph.stats(), as_json)


def _backfill_with_index(
    settings: Settings, graph: KnowledgeGraph, *, k: int, threshold: float
) -> BackfillReport | None:
    """Backfill from the code index, or None when there is no index to read."""
    if not settings.index_dir.exists():
        return None
    try:
        from codedreamer.index.indexer import open_index  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    from codedreamer.memory.code_sync import backfill_from_index, chunk_locations

    store = open_index(settings, read_only=True)
    try:
        return backfill_from_index(
            graph, store, chunk_keys=chunk_locations(store), k=k, threshold=threshold
        )
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()


def _with_note(report: BackfillReport, note: str) -> BackfillReport:
    from dataclasses import replace

    return replace(report, notes=(*report.notes, note))


def _print_backfill(report: BackfillReport, after: GraphStats, as_json: bool) -> None:
    if as_json:
        sync = report.sync
        print_json(
            {
                "sync": None
                if sync is None
                else {
                    "added": sync.added,
                    "removed": sync.removed,
                    "updated": sync.updated,
                    "edges_added": sync.edges_added,
                },
                "edges_added": report.edges_added,
                "edges_removed": report.edges_removed,
                "unresolved_imports": report.unresolved_imports,
                "vectors_used": report.vectors_used,
                "notes": list(report.notes),
                "graph": _stats_json(after),
            }
        )
        return
    from rich.text import Text

    console = stdout_console()
    if report.sync is not None:
        s = report.sync
        console.print(
            Text(f"Code nodes: {s.added} added, {s.removed} removed, {s.updated} refreshed.")
        )
    made = ", ".join(f"{n} {kind}" for kind, n in report.edges_added.items()) or "none"
    console.print(Text(f"New edges: {made}."))
    gone = ", ".join(f"{n} {kind}" for kind, n in report.edges_removed.items() if n)
    if gone:
        console.print(Text(f"Stale edges removed: {gone}."))
    if report.unresolved_imports:
        console.print(
            Text(f"{report.unresolved_imports} imported files have no graph node; not linked.")
        )
    for note in report.notes:
        console.print(Text(safe_line(f"Note: {note}"), style="dim"))
    console.print(Text(f"Graph now: {after.nodes} nodes, {after.edges} edges."))
