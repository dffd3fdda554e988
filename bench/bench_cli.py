"""`codedreamer --help` wall time, against a bare `python -c pass` in the same run.

Goal: under 0.3 s, which holds only if no heavy library (llama.cpp, LanceDB, pyarrow,
rustworkx, textual) is imported to print help. Also lists which heavy modules got imported.

Run: python -m bench.bench_cli
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from bench.report import write_section

RUNS = 15
HEAVY = ("llama_cpp", "lancedb", "pyarrow", "rustworkx", "textual", "numpy", "tree_sitter")


def wall(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - started


def heavy_imports() -> list[str]:
    probe = (
        "import sys; from codedreamer.cli.app import build_app; build_app(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return [name for name in out.stdout.strip().split(",") if name]


def main() -> None:
    help_cmd = [sys.executable, "-m", "codedreamer", "--help"]
    bare_cmd = [sys.executable, "-c", "pass"]
    wall(help_cmd)  # warm the file cache and .pyc files
    helps, bares = [], []
    for _ in range(RUNS):
        helps.append(wall(help_cmd))
        bares.append(wall(bare_cmd))
    help_median, bare_median = statistics.median(helps), statistics.median(bares)
    heavy = heavy_imports()
    verdict = "meets" if help_median < 0.3 else "MISSES"
    body = (
        "## CLI start-up: `codedreamer --help`\n\n"
        f"`python -m bench.bench_cli`: {RUNS} alternating runs each.\n\n"
        "| command | median wall time | min | max |\n|---|---|---|---|\n"
        f"| `codedreamer --help` | {help_median * 1000:.0f} ms | {min(helps) * 1000:.0f} ms "
        f"| {max(helps) * 1000:.0f} ms |\n"
        f"| baseline `python -c pass` | {bare_median * 1000:.0f} ms | {min(bares) * 1000:.0f} ms "
        f"| {max(bares) * 1000:.0f} ms |\n\n"
        f"Goal < 300 ms: **{verdict}** ({help_median * 1000:.0f} ms; "
        f"{(help_median - bare_median) * 1000:.0f} ms above bare Python). "
        f"Heavy modules imported to print help: {', '.join(heavy) if heavy else 'none'}."
    )
    write_section("cli", body)
    print(body)


if __name__ == "__main__":
    main()
