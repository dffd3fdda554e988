"""The CodeDreamer TUI: the live thought stream, the graph, the leaderboard, the timeline.

The app owns no engine state. It drains its event subscription on a timer (`bridge`),
reads dream files and the graph in thread workers, and writes marks through the dream
store in thread workers, so the UI thread never waits on the model or the disk. Panes get
data set on them ("attributes down"); dream tables post messages when a key asks for
something ("messages up"), and the app does it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer

from codedreamer.errors import CodeDreamerError
from codedreamer.events import (
    CycleFinished,
    DreamSaved,
    EngineError,
    Event,
    GraphChanged,
    Notice,
    RunnerStateChanged,
    StageFinished,
)
from codedreamer.safe_text import safe_line
from codedreamer.storage.dream import Dream, Status
from codedreamer.tui.bridge import FLUSH_HZ, EventBridge
from codedreamer.tui.commands import DreamerCommands, PaletteCommand
from codedreamer.tui.filters import DreamFilter, parse_filter
from codedreamer.tui.panes.activity import Activity, rates_from_dreams
from codedreamer.tui.panes.dream_table import DreamTable
from codedreamer.tui.panes.graph import GraphPane
from codedreamer.tui.panes.leaderboard import Leaderboard
from codedreamer.tui.panes.status import EngineStatus, StatusLine
from codedreamer.tui.panes.thought_stream import ThoughtStream
from codedreamer.tui.panes.timeline import Timeline
from codedreamer.tui.screens.dream_detail import DreamScreen
from codedreamer.tui.screens.filter import FilterScreen
from codedreamer.tui.themes import DEFAULT_THEME, load_themes, read_saved_theme, save_theme

if TYPE_CHECKING:
    from codedreamer.storage.store import DreamStore, ListResult
    from codedreamer.tui.session import TuiSession

log = logging.getLogger(__name__)

QUIT_WAIT_SEC = 0.8
"""How long q waits for the engine before the UI closes anyway (the CLI then finishes the
stop: a model still reading its prompt returns to the cancel check only after it)."""
DREAMS_REFRESH_SEC = 5.0
"""Dream files change from other processes (a daemon, `dreams mark`): re-read this often."""


class DreamsLoaded(Message):
    def __init__(self, generation: int, result: ListResult) -> None:
        super().__init__()
        self.generation = generation
        self.result = result


class DreamMarked(Message):
    def __init__(self, dream: Dream, *, quiet: bool = False) -> None:
        super().__init__()
        self.dream = dream
        self.quiet = quiet
        """Refresh the dream only: no cursor move, no notification (the caller says more)."""


class GraphLoaded(Message):
    def __init__(self, graph: GraphChanged | None, problem: str = "") -> None:
        super().__init__()
        self.graph = graph
        self.problem = problem


class DreamerApp(App[None]):
    """The main screen: status line, thought stream, graph + activity, leaderboard, timeline."""

    TITLE = "CodeDreamer"
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {DreamerCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 (Textual's API)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("p", "toggle_pause", "Pause", id="app.pause"),
        Binding("n", "dream_now", "Now", id="app.dream_now"),
        Binding("slash", "filter", "Filter", key_display="/", id="app.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="app.clear_filter"),
        Binding("t", "next_theme", "Theme", id="app.next_theme"),
        Binding("s", "next_sort", "Sort", show=False, id="app.sort"),
        Binding("l", "focus_pane('leaderboard')", "Leaderboard", show=False),
        Binding("T", "focus_pane('timeline')", "Timeline", show=False),
        Binding("b", "apply_branch", "Branch", show=False, id="app.apply_branch"),
    ]

    CSS = """
    Screen { layout: vertical; }
    #dashboard {
        grid-size: 2 2;
        grid-columns: 3fr 2fr;
        grid-rows: 2fr 3fr;
        height: 1fr;
    }
    .pane {
        border: round $border-blurred;
        border-title-color: $text-muted;
        border-title-style: bold;
        padding: 0 0;
    }
    .pane:focus-within { border: round $border; border-title-color: $accent; }
    #side { border: none; padding: 0; }
    #graph { height: 1fr; }
    #activity { height: 5; }
    Screen.-short #dashboard { grid-rows: 1fr 1fr; }
    Screen.-short #activity { height: 3; }
    Screen.-short #activity-label { display: none; }
    Screen.-narrow ThoughtStream #code { max-height: 4; }
    Screen.-short ThoughtStream #code { max-height: 3; }
    Screen.-wide.-tall ThoughtStream #code { max-height: 12; }
    DreamTable { height: 1fr; }
    """

    def __init__(
        self,
        session: TuiSession,
        *,
        clock: Callable[[], float] = time.time,
        refresh_dreams_every: float = DREAMS_REFRESH_SEC,
        load_graph_files: bool = True,
    ) -> None:
        super().__init__()
        self.session = session
        self.settings = session.settings
        self.clock = clock
        self.refresh_dreams_every = refresh_dreams_every
        self.load_graph_files = load_graph_files
        self.bridge = EventBridge(session.subscription)
        self.status = EngineStatus(mode=session.mode)
        self.dreams: list[Dream] = []
        self.filter = DreamFilter()
        self.quitting = False
        self.quit_requested_at: float | None = None
        self.theme_names: list[str] = []
        self._graph_from_events = False
        self._dream_generation = 0
        self._dreams_applied = -1
        self._corrupt_reported: set[str] = set()
        self._store: DreamStore | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # Kept as attributes: `query_one` searches the active screen, which may be a
        # dream or the palette while events and reloads keep arriving.
        self.status_line = StatusLine(self.status, self.clock, id="status")
        self.thoughts = ThoughtStream(
            id="thoughts", classes="pane", exact_token_counts=self.session.mode == "local"
        )
        self.graph_pane = GraphPane(id="graph", classes="pane")
        self.activity = Activity(id="activity", classes="pane")
        self.leaderboard = Leaderboard(id="leaderboard", classes="pane")
        self.timeline = Timeline(id="timeline", classes="pane")
        yield self.status_line
        with Grid(id="dashboard"):
            yield self.thoughts
            with Vertical(id="side"):
                yield self.graph_pane
                yield self.activity
            yield self.leaderboard
            yield self.timeline
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._set_up_themes()
        self.thoughts.border_title = "Thought stream"
        self.graph_pane.border_title = "Knowledge graph"
        self._title_tables()
        self.set_interval(1 / FLUSH_HZ, self.flush_events, name="events")
        self.set_interval(1.0, self._tick, name="countdown")
        if self.refresh_dreams_every > 0:
            self.set_interval(self.refresh_dreams_every, self.reload_dreams, name="dreams")
        self.reload_dreams()
        if self.load_graph_files:
            self.load_graph()
        self.leaderboard.focus()

    @property
    def store(self) -> DreamStore:
        if self._store is None:
            from codedreamer.storage.store import DreamStore

            self._store = DreamStore(self.settings.dreams_dir)
        return self._store

    # ------------------------------------------------------------------ events

    def flush_events(self) -> None:
        """Apply every event waiting in the subscription: one batch per frame."""
        items = self.bridge.drain()
        if not items:
            return
        thoughts = self.thoughts
        reload = False
        for item in items:
            try:
                thoughts.apply(item)
                if isinstance(item, Event):
                    self.status.apply(item)
                    reload |= self._apply_event(item)
            except Exception as exc:
                # One event a pane cannot show must not take the whole app down.
                log.exception("showing %r failed", type(item).__name__)
                self.notify(
                    safe_line(f"could not show {type(item).__name__}: {exc}"),
                    severity="error",
                    markup=False,
                )
        thoughts.flush()
        self.status_line.refresh_line()
        if reload:
            self.reload_dreams()

    def _apply_event(self, event: Event) -> bool:
        """Pane updates beyond the thought stream; True if the dream files changed."""
        if isinstance(event, GraphChanged):
            self._graph_from_events = True
            self.graph_pane.show(event)
        elif isinstance(event, StageFinished):
            self.activity.add(event.tokens_per_second)
        elif isinstance(event, RunnerStateChanged):
            note = getattr(self.session.control, "note_paused", None)
            if callable(note):
                note(event.state == "paused")
        elif isinstance(event, EngineError):
            # A fatal one stopped the engine: it stays on screen until dismissed.
            fatal = bool(getattr(event, "fatal", False))
            self.notify(
                safe_line(event.message),
                title="engine stopped" if fatal else "",
                severity="error",
                markup=False,
                timeout=3600 if fatal else 8,
            )
        elif isinstance(event, Notice):
            self.notify(safe_line(event.message), markup=False, timeout=3)
        if isinstance(event, DreamSaved) and self.session.mode == "attached":
            self._follow_dreams_dir(Path(event.path).parent)
        return isinstance(event, DreamSaved | CycleFinished)

    def _follow_dreams_dir(self, directory: Path) -> None:
        """An attached view reads the dreams where the daemon writes them.

        The daemon's DREAMS_DIR may differ from this process's settings (another working
        directory, another .env); its DreamSaved events say where the files are.
        """
        if directory == Path() or directory.resolve() == self.store.dreams_dir.resolve():
            return
        from codedreamer.storage.store import DreamStore

        self._store = DreamStore(directory)
        self.settings = self.settings.model_copy(update={"dreams_dir": directory})
        self.notify(safe_line(f"showing the daemon's dreams in {directory}"), markup=False)

    def _tick(self) -> None:
        if self.status.state == "waiting" or self.quitting:
            self.status_line.refresh_line()

    # ------------------------------------------------------------------ dreams

    def reload_dreams(self) -> None:
        self._dream_generation += 1
        self._load_dreams(self._dream_generation)

    @work(thread=True, group="dreams", exit_on_error=False)
    def _load_dreams(self, generation: int) -> None:
        try:
            result = self.store.list()
        except CodeDreamerError as exc:
            self.notify(safe_line(str(exc)), severity="error", markup=False)
            return
        self.post_message(DreamsLoaded(generation, result))

    def on_dreams_loaded(self, message: DreamsLoaded) -> None:
        # Two loads can finish out of order: never replace newer data with older.
        if message.generation <= self._dreams_applied:
            return
        self._dreams_applied = message.generation
        result = message.result
        self.dreams = list(result.dreams)
        for corrupt in result.corrupt:
            key = str(corrupt.path)
            if key not in self._corrupt_reported:
                self._corrupt_reported.add(key)
                self.notify(
                    safe_line(f"{corrupt.path.name}: {corrupt.reason} (skipped, left as is)"),
                    severity="warning",
                    markup=False,
                )
        activity = self.activity
        if not activity.seeded:
            activity.seed(rates_from_dreams(self.dreams))
        self._show_dreams()

    def _show_dreams(self) -> None:
        shown = [d for d in self.dreams if self.filter.matches(d)]
        self.leaderboard.show(shown)
        self.timeline.show(shown)
        self.status.stored = len(self.dreams)
        self.status.pending = sum(1 for d in self.dreams if d.status == Status.PENDING)
        self.status_line.refresh_line()
        self._title_tables(len(shown))

    def _title_tables(self, shown: int | None = None) -> None:
        count = len(self.dreams) if shown is None else shown
        suffix = f" · {count}" if not self.filter.active else f" · {count} of {len(self.dreams)}"
        filtered = Content(f" · /{safe_line(self.filter.text)}") if self.filter.active else ""
        self.leaderboard.border_title = Content.assemble("Leaderboard", suffix, filtered)
        self.timeline.border_title = Content.assemble("Timeline", suffix, filtered)

    def selected_table(self) -> DreamTable:
        """The dream list the keys act on: the focused one, else the leaderboard."""
        focused = self.focused
        return focused if isinstance(focused, DreamTable) else self.leaderboard

    def dream_by_id(self, dream_id: str) -> Dream | None:
        return next((d for d in self.dreams if d.id == dream_id), None)

    @on(DreamTable.MarkRequested)
    def _mark_requested(self, message: DreamTable.MarkRequested) -> None:
        self.mark(message.dream_id, message.status)

    def mark(self, dream_id: str, status: Status) -> None:
        self._write_mark(dream_id, status)

    @work(thread=True, group="marks", exit_on_error=False)
    def _write_mark(self, dream_id: str, status: Status) -> None:
        try:
            dream = self.store.set_status(dream_id, status)
        except CodeDreamerError as exc:
            self.notify(safe_line(f"mark failed: {exc}"), severity="error", markup=False)
            return
        self.post_message(DreamMarked(dream))

    def on_dream_marked(self, message: DreamMarked) -> None:
        dream = message.dream
        # A reload already in flight may have listed the files before this mark was written:
        # applying it would show the old status until the next reload.
        self._dreams_applied = self._dream_generation
        self.dreams = [dream if d.id == dream.id else d for d in self.dreams]
        table = self.selected_table()
        was_selected = table.selected_dream_id == dream.id and not message.quiet
        self._show_dreams()
        if was_selected and table.cursor_row < len(table.dreams) - 1 and table.has_focus:
            # Triage flow: after a mark, the next dream is ready for the next key.
            table.move_cursor(row=table.cursor_row + 1)
        screen = self.screen
        if isinstance(screen, DreamScreen) and screen.dream.id == dream.id:
            screen.show_dream(dream)
        if message.quiet:
            return
        self.notify(
            safe_line(f"{Status(dream.status).value}: {dream.title or dream.id}"),
            markup=False,
            timeout=2,
        )

    def action_apply_branch(self) -> None:
        """Verify the selected dream if needed, then commit it on branch dream/<id>."""
        dream_id = self.selected_table().selected_dream_id
        if not dream_id:
            self.notify("no dream selected", severity="warning")
            return
        self.notify("verifying and applying on a branch…", timeout=2)
        self._apply_to_branch(dream_id)

    @work(thread=True, group="marks", exit_on_error=False)
    def _apply_to_branch(self, dream_id: str) -> None:
        # A scratch clone and git plumbing: the user's checkout, index and branch stay as
        # they are (codedreamer/verify/). Seconds of work, so never on the UI thread.
        from codedreamer.verify.branch import apply_dream
        from codedreamer.verify.to_diff import index_lookup
        from codedreamer.verify.verifier import verify_dream

        settings = self.session.settings
        codebase = self.session.codebase or settings.codebase_path or Path.cwd()
        try:
            dream = self.store.load(dream_id)
            if dream.verification.get("status") != "verified":
                checked = verify_dream(
                    self.store,
                    dream_id,
                    codebase=codebase,
                    command=settings.verify_command,
                    timeout=settings.verify_timeout_sec,
                    lookup=index_lookup(settings),
                )
                if checked.status != "verified":
                    self.post_message(DreamMarked(self.store.load(dream_id), quiet=True))
                    self.notify(
                        safe_line(f"not applied: {checked.status}: {checked.reason}"),
                        severity="warning",
                        markup=False,
                        timeout=6,
                    )
                    return
            result = apply_dream(self.store, dream_id, codebase=codebase)
        except CodeDreamerError as exc:
            self.notify(safe_line(f"not applied: {exc}"), severity="error", markup=False)
            return
        self.post_message(DreamMarked(result.dream, quiet=True))
        self.notify(
            safe_line(f"applied on branch {result.branch} ({result.commit[:10]})"),
            markup=False,
            timeout=6,
        )

    @on(DreamTable.OpenRequested)
    def _open_requested(self, message: DreamTable.OpenRequested) -> None:
        self.open_dream(message.dream_id)

    def open_dream(self, dream_id: str | None = None) -> None:
        dream_id = dream_id or self.selected_table().selected_dream_id
        dream = self.dream_by_id(dream_id) if dream_id else None
        if dream is not None:
            self.push_screen(DreamScreen(dream))

    # ------------------------------------------------------------------ graph

    @work(thread=True, group="graph", exit_on_error=False)
    def load_graph(self) -> None:
        """The graph pane at start, from the graph files (events take over after)."""
        from codedreamer.memory.graph_store import load_graph
        from codedreamer.memory.summary import graph_changed

        try:
            summary = graph_changed(load_graph(self.settings.graph_dir))
        except CodeDreamerError as exc:
            self.post_message(GraphLoaded(None, str(exc)))
            return
        self.post_message(GraphLoaded(summary))

    def on_graph_loaded(self, message: GraphLoaded) -> None:
        pane = self.graph_pane
        if message.graph is None:
            pane.show_problem(message.problem)
        elif not self._graph_from_events:
            pane.show(message.graph)

    # ------------------------------------------------------------------ actions

    def action_toggle_pause(self) -> None:
        control = self.session.control
        if control is None:
            self.notify("no engine to pause: nothing is dreaming", severity="warning")
            return
        self._steer(control.toggle_pause)
        self.notify("resuming…" if not control.paused else "pausing…", timeout=2)

    def action_dream_now(self) -> None:
        control = self.session.control
        if control is None:
            self.notify("no engine to ask: nothing is dreaming", severity="warning")
            return
        self._steer(control.dream_now)
        self.notify("dreaming now…", timeout=2)

    @work(thread=True, group="control", exit_on_error=False)
    def _steer(self, command: Callable[[], None]) -> None:
        # A control file append is a write: never on the UI thread.
        try:
            command()
        except (OSError, CodeDreamerError) as exc:
            self.notify(safe_line(f"command failed: {exc}"), severity="error", markup=False)

    def action_filter(self) -> None:
        self.push_screen(FilterScreen(self.filter.text), self._filter_chosen)

    def _filter_chosen(self, text: str | None) -> None:
        if text is None:
            return
        self.set_filter(text)

    def set_filter(self, text: str) -> None:
        """Show only dreams matching `text` (see tui/filters.py); empty shows all."""
        try:
            self.filter = parse_filter(text)
        except CodeDreamerError as exc:
            self.notify(safe_line(str(exc)), severity="error", markup=False)
            return
        self._show_dreams()

    def action_clear_filter(self) -> None:
        if self.filter.active:
            self.set_filter("")

    def action_next_sort(self) -> None:
        table = self.selected_table()
        keys = [c.key for c in table.COLUMNS]
        current = keys.index(table.sort_column) if table.sort_column in keys else -1
        table.sort_by(keys[(current + 1) % len(keys)])

    def action_focus_pane(self, pane: str) -> None:
        (self.timeline if pane == "timeline" else self.leaderboard).focus()

    async def action_quit(self) -> None:
        """Stop the engine (within one token) off the UI thread, then exit."""
        if self.quitting:
            return
        self.quitting = True
        self.quit_requested_at = time.perf_counter()
        self.status.quitting = True
        self.status_line.refresh_line()
        self._shut_down()

    @work(thread=True, group="shutdown", exit_on_error=False)
    def _shut_down(self) -> None:
        try:
            stopped = self.session.shutdown(timeout=QUIT_WAIT_SEC)
            log.info(
                "quit: engine %s after %.3f s",
                "stopped" if stopped else "still stopping",
                time.perf_counter() - (self.quit_requested_at or 0.0),
            )
        finally:
            self.call_from_thread(self.exit)

    # ------------------------------------------------------------------ themes

    def _set_up_themes(self) -> None:
        loaded = load_themes()
        for theme in loaded.themes:
            self.register_theme(theme)
        self.theme_names = [theme.name for theme in loaded.themes]
        for problem in loaded.problems:
            self.notify(problem, severity="warning", markup=False)
        saved = read_saved_theme(self.settings.data_dir)
        available = self.available_themes
        if saved and saved in available:
            self.theme = saved
        elif DEFAULT_THEME in available:
            self.theme = DEFAULT_THEME
        self.theme_changed_signal.subscribe(self, lambda theme: self._remember_theme(theme.name))

    @work(thread=True, group="prefs", exit_on_error=False)
    def _remember_theme(self, name: str) -> None:
        try:
            save_theme(self.settings.data_dir, name)
        except OSError as exc:
            self.notify(safe_line(f"theme not remembered: {exc}"), severity="warning", markup=False)

    def action_next_theme(self) -> None:
        names = self.theme_names or sorted(self.available_themes)
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]

    def set_theme(self, name: str) -> None:
        self.theme = name

    # ------------------------------------------------------------------ palette

    def palette_commands(self) -> list[PaletteCommand]:
        """Every action, for the command palette (ctrl+p)."""
        commands = [
            PaletteCommand(
                "Mark dream applied",
                "Set the selected dream's status to applied (a)",
                lambda: self.selected_table().action_mark("applied"),
            ),
            PaletteCommand(
                "Mark dream rejected",
                "Set the selected dream's status to rejected (r)",
                lambda: self.selected_table().action_mark("rejected"),
            ),
            PaletteCommand(
                "Mark dream deferred",
                "Set the selected dream's status to deferred (d)",
                lambda: self.selected_table().action_mark("deferred"),
            ),
            PaletteCommand(
                "Mark dream pending",
                "Set the selected dream's status back to pending (u)",
                lambda: self.selected_table().action_mark("pending"),
            ),
            PaletteCommand("Open dream", "Read the selected dream (enter)", self.open_dream),
            PaletteCommand(
                "Apply dream on a branch",
                "Verify the selected dream's patch and commit it on branch dream/<id> (b)",
                self.action_apply_branch,
            ),
            PaletteCommand(
                "Filter dreams", "Filter by text, status or category (/)", self.action_filter
            ),
            PaletteCommand("Clear filter", "Show every dream (escape)", self.action_clear_filter),
            PaletteCommand(
                "Pause / resume dreaming", "Toggle the engine (p)", self.action_toggle_pause
            ),
            PaletteCommand("Dream now", "Start a cycle at once (n)", self.action_dream_now),
            PaletteCommand(
                "Focus leaderboard",
                "Move the keys to the leaderboard (l)",
                lambda: self.action_focus_pane("leaderboard"),
            ),
            PaletteCommand(
                "Focus timeline",
                "Move the keys to the timeline (T)",
                lambda: self.action_focus_pane("timeline"),
            ),
            PaletteCommand("Next theme", "Cycle through our themes (t)", self.action_next_theme),
            PaletteCommand("Quit", "Stop the engine cleanly and exit (q)", self.action_quit),
        ]
        for table in (self.leaderboard, self.timeline):
            name = "leaderboard" if table is self.leaderboard else "timeline"
            for column in table.COLUMNS:
                if column.max_table_width:
                    continue  # a compact twin of another column: same order
                commands.append(
                    PaletteCommand(
                        f"Sort {name} by {column.key}",
                        "Again to reverse",
                        partial(table.sort_by, column.key),
                    )
                )
        for name in self.theme_names:
            commands.append(
                PaletteCommand(
                    f"Theme: {name}", "Switch theme (remembered)", partial(self.set_theme, name)
                )
            )
        return commands
