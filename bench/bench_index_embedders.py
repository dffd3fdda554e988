"""Choose the default embedder by retrieval quality and speed on real code.

Run: `python bench/bench_index_embedders.py [--n 150]` (a few minutes: the GGUF candidate
embeds about one chunk per second on 2 cores). Writes the "index-embedders" section of
docs/benchmarks.md.

Corpus: functions and methods with docstrings from a fixed list of CPython stdlib modules,
chunked by the real chunker. Two query sets, each with exactly one right answer:
- docstring: the docstring's first sentence; the target is the function with its docstring
  removed (otherwise any lexical method wins by copying words);
- call site: a line elsewhere in the corpus that calls the function; the target is the
  function. Reported: recall@5 (right answer in the top 5) and chunks embedded per second.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import write_section

MODULES = [
    "json/decoder.py", "json/encoder.py", "http/client.py", "http/cookiejar.py",
    "email/message.py", "email/utils.py", "argparse.py", "textwrap.py", "shutil.py",
    "tempfile.py", "csv.py", "pathlib.py", "ipaddress.py", "fractions.py", "calendar.py",
    "configparser.py", "difflib.py", "gettext.py", "smtplib.py", "tarfile.py", "zipfile.py",
    "urllib/parse.py", "urllib/request.py", "logging/__init__.py", "statistics.py",
]  # fmt: skip
_DOCSTRING = re.compile(r'[rRbBuU]?("""|\'\'\')([\s\S]*?)\1')


def _corpus(limit: int) -> tuple[list[str], list[tuple[str, int]], list[tuple[str, int]]]:
    """(target texts, docstring queries, call-site queries); a query holds its target index."""
    from codedreamer.index.chunker import chunk_code
    from codedreamer.index.languages import language_for

    spec = language_for("x.py")
    assert spec is not None
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    targets: list[str] = []
    doc_queries: list[tuple[str, int]] = []
    symbols: dict[str, int] = {}
    lines_elsewhere: list[tuple[str, str]] = []
    for rel in MODULES:
        text = (stdlib / rel).read_text()
        parsed = chunk_code(rel, spec, text, text.encode(), 3000)
        for chunk in parsed.chunks:
            lines_elsewhere.extend(
                (chunk.symbol, line.strip()) for line in chunk.content.split("\n")
            )
            if chunk.kind not in {"function", "method"} or len(targets) >= limit:
                continue
            match = _DOCSTRING.search(chunk.content)
            if match is None or chunk.symbol.startswith("_") or chunk.symbol in symbols:
                continue
            first = re.split(r"(?<=\.)\s|\n\n", match.group(2).strip())[0].strip()
            if len(first.split()) < 4:
                continue
            symbols[chunk.symbol] = len(targets)
            targets.append(_DOCSTRING.sub("", chunk.content, count=1))
            doc_queries.append((first, symbols[chunk.symbol]))
    call_queries: list[tuple[str, int]] = []
    seen: set[str] = set()
    for owner, line in lines_elsewhere:
        for name in re.findall(r"\.?([A-Za-z_][A-Za-z0-9_]*)\(", line):
            if (
                name in symbols
                and name != owner
                and name not in seen
                and not line.startswith("def ")
            ):
                seen.add(name)
                call_queries.append((line, symbols[name]))
    return targets, doc_queries, call_queries


def _recall_at_5(vectors: np.ndarray, queries: np.ndarray, answers: list[int]) -> float:
    scores = queries @ vectors.T
    top = np.argsort(-scores, axis=1)[:, :5]
    return float(np.mean([answer in row for answer, row in zip(answers, top, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=150, help="functions in the corpus")
    parser.add_argument("--skip-gguf", action="store_true")
    args = parser.parse_args()

    from codedreamer.index.embedder import Embedder, GgufEmbedder, LexicalEmbedder
    from codedreamer.models.bundled import bundled_model_path

    targets, doc_queries, call_queries = _corpus(args.n)
    candidates: list[tuple[str, Callable[[], Embedder]]] = [
        ("lexical hashing, 256-d (default)", lambda: LexicalEmbedder(256)),
        ("lexical hashing, 1024-d", lambda: LexicalEmbedder(1024)),
    ]
    if not args.skip_gguf:
        candidates.append(
            (
                "SmolLM2-135M-Instruct Q4_1, mean-pooled (bundled)",
                lambda: GgufEmbedder(bundled_model_path(), max_tokens=1024, n_threads=2),
            )
        )
    rows = []
    for name, make in candidates:
        embedder = make()
        started = time.perf_counter()
        vectors = embedder.embed(targets)
        per_second = len(targets) / (time.perf_counter() - started)
        doc = embedder.embed([q for q, _ in doc_queries])
        call = embedder.embed([q for q, _ in call_queries])
        rows.append(
            (
                name,
                _recall_at_5(vectors, doc, [a for _, a in doc_queries]),
                _recall_at_5(vectors, call, [a for _, a in call_queries]),
                per_second,
            )
        )
        embedder.close()
        print(rows[-1], flush=True)
    table = "\n".join(
        f"| {name} | {doc:.2f} | {call:.2f} | {speed:,.1f} |" for name, doc, call, speed in rows
    )
    body = (
        "## Default embedder (bench/bench_index_embedders.py)\n\n"
        f"{len(targets)} stdlib functions with docstrings ({len(MODULES)} modules); "
        f"{len(doc_queries)} docstring queries (docstring removed from the target), "
        f"{len(call_queries)} call-site queries. Random ranking would give recall@5 "
        f"{5 / len(targets):.2f}.\n\n"
        "| Embedder | recall@5, docstring | recall@5, call site | chunks/s |\n"
        "|---|---|---|---|\n"
        f"{table}\n\n"
        "The default with no DREAMER_EMBED_MODEL_PATH is the 256-d lexical embedder: "
        f"median per-second speed ratio to the GGUF candidate "
        f"{statistics.median([r[3] for r in rows[:1]]) / rows[-1][3]:,.0f}x.\n"
    )
    write_section("index-embedders", body)
    print(body)


if __name__ == "__main__":
    main()
