"""Proactive context on a real index: callees, imports, callers and neighbours, labelled."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from codedreamer.config.settings import load_settings
from codedreamer.dream.context import CycleContext
from codedreamer.dream.gather import gather_step
from codedreamer.engine.engine import Engine
from codedreamer.events import Event

UTIL = '''def parse_amount(text):
    """Cents from a string like "12.50"."""
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int(cents or 0)
'''
SHOP = """from util import parse_amount


def checkout(cart, coupon):
    total = 0
    for price in cart:
        total += parse_amount(price)
    if coupon:
        total -= parse_amount(coupon)
    return total


def main():
    print(checkout(["1.00", "2.50"], None))
"""


def test_context_for_a_function_holds_its_callee_caller_and_import(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "util.py").write_text(UTIL)
    (repo / "shop.py").write_text(SHOP)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    environ = {
        "DREAMER_DREAMS_DIR": str(tmp_path / "dreams"),
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
    }
    settings = load_settings(env_file=None, environ=environ).settings
    events: list[Event] = []
    engine = Engine(settings, repo, events.append, rng=random.Random(1))
    try:
        engine.ensure_index()
        context = CycleContext(services=engine._services(), state=engine._state, cycle=1)
        context.chunk = engine.index.definitions("checkout")[0]
        gather_step(context)
    finally:
        engine.close()
    sources = [source for source, _, _ in context.context_sections]
    assert "callee: util.py::parse_amount" in sources
    assert "caller: shop.py::main" in sources
    texts = dict((s, t) for s, t, _ in context.context_sections)
    assert "int(whole) * 100" in texts["callee: util.py::parse_amount"]
    assert texts["caller: shop.py::main"].startswith("Context (caller: shop.py::main):\n```python")
    # Highest priority first: what the code calls before who calls it.
    priorities = [p for _, _, p in context.context_sections]
    assert priorities == sorted(priorities, reverse=True)


def _gather_for(tmp_path: Path, files: dict[str, str], symbol: str) -> list[str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, text in files.items():
        (repo / name).write_text(text)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    environ = {
        "DREAMER_DREAMS_DIR": str(tmp_path / "dreams"),
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
    }
    settings = load_settings(env_file=None, environ=environ).settings
    engine = Engine(settings, repo, lambda event: None, rng=random.Random(1))
    try:
        engine.ensure_index()
        context = CycleContext(services=engine._services(), state=engine._state, cycle=1)
        context.chunk = engine.index.definitions(symbol)[0]
        gather_step(context)
    finally:
        engine.close()
    return [source for source, _, _ in context.context_sections]


def test_names_that_only_look_alike_are_not_context(tmp_path: Path) -> None:
    """Seen on the standard library: `x.close()` in urllib/request.py was given ftplib's
    `FTP.close` (ftplib is imported) and a variable `local` the class
    `_threading_local.local` (the only definition of that name)."""
    files = {
        "util.py": UTIL + "\n\nclass Ledger:\n    def close(self):\n        self.closed = True\n",
        "threads.py": "class local:\n    '''Per-thread storage.'''\n    slots = 1\n",
        "shop.py": (
            "import util\nfrom util import parse_amount\n\n\n"
            "def settle(handle, text):\n"
            "    local = parse_amount(text)\n"
            "    handle.close()\n"
            "    return local\n"
        ),
    }
    sources = _gather_for(tmp_path, files, "settle")
    assert "callee: util.py::parse_amount" in sources, sources
    # Search neighbours are offered as similar code, not as what the seed uses.
    linked = [s for s in sources if not s.startswith("search neighbour:")]
    assert not any("Ledger.close" in s for s in linked), linked
    assert not any("threads.py" in s for s in linked), linked
