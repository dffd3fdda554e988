"""The selection step: turn a drill/jump target or a coverage-aware sample into one chunk.

The index is sampled (`random_chunks`), never read whole; a target names a file and a
line range, resolved to the chunk that overlaps it most. The chunk is announced with a
`ChunkSelected` event carrying its language and code for the views.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from codedreamer.dream.context import CycleContext, Target
from codedreamer.dream.selection import Candidate, choose, is_code
from codedreamer.errors import UsageError
from codedreamer.events import ChunkSelected

if TYPE_CHECKING:
    from codedreamer.index.chunk import Chunk

SAMPLE_SIZE = 24


def overlap(chunk: Chunk, start: int, end: int) -> int:
    return max(0, min(chunk.end_line, end) - max(chunk.start_line, start) + 1)


def chunk_for_target(chunks: list[Chunk], target: Target) -> Chunk | None:
    """The chunk of the file that overlaps the target's lines most (the first on ties)."""
    best = max(chunks, key=lambda c: overlap(c, target.start_line, target.end_line), default=None)
    if best is None or overlap(best, target.start_line, target.end_line) == 0:
        # A file-level target (a graph node for a whole file): its largest chunk.
        return max(chunks, key=lambda c: len(c.content), default=None)
    return best


def _modified(root: str, path: str) -> float | None:
    try:
        return os.stat(Path(root) / path).st_mtime
    except OSError:
        return None


def select_step(context: CycleContext) -> None:
    services = context.services
    index = services.index()
    if context.target is not None:
        chunk = chunk_for_target(index.chunks_for_path(context.target.path), context.target)
        if chunk is None:
            context.reject("target_gone", f"{context.target.path} is no longer indexed")
            return
        context.chunk, context.selection_reason = chunk, context.target.reason
    else:
        if index.count() == 0:
            raise UsageError(
                f"nothing to dream about: the index of {services.codebase_root} holds no code "
                f"(`codedreamer index {services.codebase_root}` lists what was skipped and why)"
            )
        sample = index.random_chunks(SAMPLE_SIZE, services.rng)
        by_key = {chunk.id: chunk for chunk in sample}
        candidates = [
            Candidate(
                c.id,
                c.path,
                c.start_line,
                c.end_line,
                c.content,
                language=c.language,
                modified=_modified(services.codebase_root, c.path),
            )
            for c in sample
        ]
        dreamed = {(d.source_path, d.line_start, d.line_end) for d in context.earlier}
        choice = choose(
            candidates,
            dreamed,
            services.rng,
            attempted=set(context.state.attempted),
            now=time.time(),
        )
        if choice is None:
            # Only tiny or already-dreamed code in the sample: the largest piece of code
            # beats dreaming about nothing; docs and config are never seeds.
            code = [c for c in candidates if is_code(c)]
            if not code:
                raise UsageError(
                    f"nothing to dream about: {len(sample)} sampled chunks held no project "
                    "code (only docs, config or build files)"
                )
            context.chunk = by_key[max(code, key=lambda c: len(c.content)).key]
            context.selection_reason = "only small chunks sampled"
        else:
            context.chunk, context.selection_reason = by_key[choice.key], choice.reason
    chunk = context.chunk
    services.sink(
        ChunkSelected(
            path=chunk.path,
            start_line=chunk.start_line,
            end_line=chunk.end_line,
            symbol=chunk.qualified_name or chunk.symbol,
            reason=context.selection_reason,
            language=chunk.language,
            code=chunk.content,
        )
    )
