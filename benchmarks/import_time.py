"""Import time: ``import kerax`` against ``import jax, optax, flax``.

Each import runs in a fresh interpreter, the variants alternating (A B C A B C ...) so
that drift in machine load hits all of them alike; reported are the median wall and
CPU times of the import statement itself (interpreter start-up excluded) and their
ratios to the baseline. ``kerax + first model`` also reads the names a typical program touches
first (``Sequential``, ``layers.Dense``, ``layers.Conv2D``, an optimizer, a loss, a
metric, a callback), so the cost that lazy loading defers is shown, not hidden.

    python benchmarks/import_time.py --rounds 15
    python benchmarks/import_time.py --rounds 15 --from-source
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

VARIANTS = {
    "jax, optax, flax": "import jax, optax, flax",
    "kerax": "import kerax",
    "kerax + first model": (
        "import kerax as k; k.Sequential, k.Input, k.layers.Dense, k.layers.Conv2D, "
        "k.optimizers.Adam, k.losses.get('categorical_crossentropy'), "
        "k.metrics.get('accuracy'), k.callbacks.EarlyStopping"
    ),
}

# CPU time is reported next to wall time: on a shared machine the wall clock also
# counts the time other processes hold the cores, the CPU clock does not.
_TIMER = (
    "import time; _w, _c = time.perf_counter(), time.process_time(); {stmt}; "
    "print(time.perf_counter() - _w, time.process_time() - _c)"
)


def time_import(stmt: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds one fresh interpreter spends running ``stmt``."""
    out = subprocess.run(
        [sys.executable, "-c", _TIMER.format(stmt=stmt)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    wall, cpu = out.stdout.split()[-2:]
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--from-source",
        action="store_true",
        help="no bytecode cache for kerax: a checkout run with PYTHONDONTWRITEBYTECODE=1",
    )
    args = parser.parse_args()

    # Every side imports from compiled bytecode, as after `pip install`: with
    # PYTHONDONTWRITEBYTECODE set, kerax (a source checkout) would be compiled on each
    # import while jax, optax and flax load their installed .pyc files. The bytecode of
    # both goes to a scratch directory, so the checkout stays clean.
    cache = tempfile.mkdtemp(prefix="kerax-import-bench-")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    if args.from_source:  # jax, optax, flax keep their installed .pyc files
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("PYTHONPYCACHEPREFIX", None)
    for stmt in VARIANTS.values():  # warm the OS file cache and write the bytecode
        time_import(stmt, env)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, stmt in VARIANTS.items():
            times[name].append(time_import(stmt, env))
    shutil.rmtree(cache, ignore_errors=True)

    def medians(name: str) -> tuple[float, float]:
        return tuple(statistics.median(t[i] for t in times[name]) for i in (0, 1))

    base_wall, base_cpu = medians("jax, optax, flax")
    print(f"median of {args.rounds} fresh interpreters each      wall            CPU")
    for name in VARIANTS:
        wall, cpu = medians(name)
        print(
            f"  import {name:<20} {wall * 1e3:7.1f} ms {wall / base_wall:5.2f}x"
            f"   {cpu * 1e3:7.1f} ms {cpu / base_cpu:5.2f}x"
        )


if __name__ == "__main__":
    main()
