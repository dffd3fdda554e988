"""What validation's comparison with every earlier dream costs, with and without the vector cache.

Each cycle, validation compares the new answer with every earlier dream (stored ones and
rejected attempts): shingles and an embedding of each earlier text (novelty.nearest). This
times that comparison (`check_duplicates`) against N earlier dreams, per cycle, three ways:

- before: nothing kept between cycles (every earlier text cleaned, shingled and embedded
  again, as before the caches; only the template cleaning was cached then and now);
- after: the cleaned texts (novelty._seedless) and a `VectorCache` kept between cycles, so
  only the new answer is embedded;
- after a restart: the vector cache loaded from its file, against a cold one.

The earlier dreams are synthetic answers in the dream format (TITLE / INSIGHT / PLAN, some
with a code block) made of identifiers from bench/quality/shopkeeper and English words,
seeded, so every run compares the same texts. Every cycle's verdict and nearest match are
compared between the uncached and cached runs: the numbers only count if they agree.

    python -m bench.bench_validation [--earlier 1000] [--cycles 20]
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codedreamer.dream.validation import novelty
from codedreamer.dream.validation.duplicates import (
    DuplicateCheck,
    EarlierDream,
    TopicKey,
    check_duplicates,
)
from codedreamer.dream.validation.novelty import default_embedder
from codedreamer.dream.validation.vector_cache import FILE_NAME, VectorCache

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "bench" / "quality" / "shopkeeper"
WORDS = " ".join(
    (
        "the function reads every value twice and never closes the handle so a long run",
        "leaks descriptors when the input is large the loop compares each item with all",
        "others which is quadratic a set would make it linear the error is swallowed and",
        "the caller cannot tell a missing file from an empty one the query is built by",
        "string formatting and accepts user input which allows injection use parameters",
        "instead the range check is off by one and skips the last element rename the",
        "variable to say what it holds",
    )
).split()
VERBS = ("Fix", "Close", "Validate", "Cache", "Split", "Rename", "Guard", "Simplify", "Check")
NOVELTY_THRESHOLD = 0.4
CATEGORIES = ("performance", "error handling", "security")


def shop_functions() -> list[tuple[str, str]]:
    """(name, source) of every function in the benchmark shop, for seeds and names."""
    found: list[tuple[str, str]] = []
    for path in sorted(SHOP.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                found.append((node.name, ast.get_source_segment(text, node) or ""))
    return found


def sentence(rng: random.Random, names: Sequence[str], words: int) -> str:
    out = [rng.choice(WORDS) for _ in range(words)]
    for _ in range(max(1, words // 12)):
        out.insert(rng.randrange(len(out)), f"`{rng.choice(names)}`")
    return " ".join(out).capitalize() + "."


def answer(rng: random.Random, names: Sequence[str]) -> str:
    """One synthetic answer in the dream format, 500-900 characters."""
    symbol = rng.choice(names)
    lines = [
        f"TITLE: {rng.choice(VERBS)} {rng.choice(WORDS)} {rng.choice(WORDS)} in `{symbol}`",
        f"INSIGHT: {sentence(rng, names, rng.randint(25, 45))} "
        f"{sentence(rng, names, rng.randint(10, 25))}",
        "PLAN:",
    ]
    lines += [f"{n}. {sentence(rng, names, rng.randint(6, 14))}" for n in range(1, 4)]
    if rng.random() < 0.4:
        other = rng.choice(names)
        lines += ["```python", f"def {symbol}(items):", f"    return {other}(set(items))", "```"]
    return "\n".join(lines)


def earlier_dreams(rng: random.Random, names: Sequence[str], count: int) -> list[EarlierDream]:
    dreams: list[EarlierDream] = []
    for n in range(count):
        text = answer(rng, names)
        dreams.append(
            EarlierDream(
                f"20261129-{n:06d}-{rng.getrandbits(32):08x}",
                text,
                title=text.split("\n")[0].removeprefix("TITLE: "),
                symbol=rng.choice(names),
                category=rng.choice(CATEGORIES),
                status="attempt" if n % 3 == 0 else "pending",
            )
        )
    return dreams


def compare(
    text: str, seed: str, earlier: Sequence[EarlierDream], **how: Any
) -> tuple[float, DuplicateCheck]:
    """(seconds, result) of validation's comparison of `text` with every earlier dream.

    The topic key names a symbol no earlier dream has, so no topic match cuts the
    comparison short; `how` is `embed=` (uncached) or `cache=`."""
    topic = TopicKey.of("bench_symbol", CATEGORIES[0], text.split("\n")[0])
    started = time.perf_counter()
    result = check_duplicates(
        text,
        seed_code=seed,
        earlier=earlier,
        novelty_threshold=NOVELTY_THRESHOLD,
        topic=topic,
        **how,
    )
    return time.perf_counter() - started, result


def ms(seconds: Sequence[float]) -> str:
    return f"{statistics.median(seconds) * 1000:.1f} ms"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--earlier", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    functions = shop_functions()
    names = [name for name, _ in functions]
    earlier = earlier_dreams(rng, names, args.earlier)
    cycles = [(rng.choice(functions)[1], answer(rng, names)) for _ in range(args.cycles)]
    embedder = default_embedder()
    cache = VectorCache.for_embedder(embedder)
    # Warm what both runs share (the embedder's vocabulary, the cleaned-text caches), so
    # the comparison is of embedding work alone.
    compare(cycles[0][1], cycles[0][0], earlier, embed=embedder.embed)

    uncached: list[float] = []
    cached: list[float] = []
    first_cached = 0.0
    disagreements = 0
    for number, (seed, text) in enumerate(cycles):
        novelty._seedless.cache_clear()  # "before": nothing of the earlier texts kept
        plain_time, plain = compare(text, seed, earlier, embed=embedder.embed)
        cached_time, with_cache = compare(text, seed, earlier, cache=cache)
        uncached.append(plain_time)
        if number == 0:
            first_cached = cached_time  # the cache was empty: every earlier text embedded
        else:
            cached.append(cached_time)
        disagreements += plain != with_cache

    texts = [dream.text for dream in earlier]
    embed_all: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        embedder.embed(texts)
        embed_all.append(time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / FILE_NAME
        started = time.perf_counter()
        cache.save(path)
        save_time = time.perf_counter() - started
        started = time.perf_counter()
        loaded = VectorCache.load(path, embedder)
        load_time = time.perf_counter() - started
        size = path.stat().st_size
    seed, text = cycles[-1]
    after_restart, restarted = compare(text, seed, earlier, cache=loaded)
    cold_start, from_cold = compare(text, seed, earlier, cache=VectorCache.for_embedder(embedder))
    disagreements += restarted != from_cold

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.earlier} earlier dreams, {args.cycles} cycles, load average {load:.1f}")
    print("| measure | median per cycle |")
    print("|---|---|")
    print(f"| before: comparison with every earlier dream, nothing kept | {ms(uncached)} |")
    print(f"| after: cleaned texts and vectors kept between cycles | {ms(cached)} |")
    print(f"| after, first cycle (empty vector cache) | {first_cached * 1000:.1f} ms |")
    print(f"| embedding the {args.earlier} earlier texts alone | {ms(embed_all)} |")
    print(
        f"| cache file: save / load / size | {save_time * 1000:.1f} ms / "
        f"{load_time * 1000:.1f} ms / {size / 1024:.0f} KiB |"
    )
    print(
        f"| first cycle after a restart: vectors loaded / cold | {after_restart * 1000:.1f} ms / "
        f"{cold_start * 1000:.1f} ms |"
    )
    print(f"| cache hits / misses | {cache.hits} / {cache.misses} |")
    print(f"| verdicts that differ with and without the cache | {disagreements} |")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
