"""Run the benchmarks: every `bench/bench_*.py` module's `main()`, in name order.

Usage: `python -m bench [NAME ...]` where NAME is a module name without `bench_` (e.g. `ledger`,
`api`); no names runs them all. Each module reads its own options from the environment.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    """The names of the benchmark modules beside this file (`bench_*.py`), sorted."""
    folder = Path(__file__).parent
    return sorted(
        info.name for info in pkgutil.iter_modules([str(folder)]) if info.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    names = discover()
    wanted = {f"bench_{a.removeprefix('bench_')}" for a in argv}
    unknown = wanted - set(names)
    if unknown:
        print(
            f"error: no benchmark {', '.join(sorted(unknown))}; have {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    failed = 0
    for name in names:
        if wanted and name not in wanted:
            continue
        print(f"=== {name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "main", None)
        if run is None:
            print(f"(skipped: {name} has no main())")
            continue
        try:
            run()
        except Exception as exc:  # one failing benchmark must not hide the others' figures
            failed += 1
            print(f"error: {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"=== {name} done in {time.perf_counter() - started:.1f} s ===", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
