"""A strict test environment: fake CPU devices, Keras on JAX as an optional oracle.

Both variables must be set before jax or keras is imported anywhere.
"""

import os
import shutil
import subprocess
import sys
import tempfile

# XLA_FLAGS as given to the first process (xdist's workers inherit it changed below).
_GIVEN_XLA_FLAGS = os.environ.setdefault(
    "KERAX_TEST_GIVEN_XLA_FLAGS", os.environ.get("XLA_FLAGS", "")
)
os.environ.setdefault("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += " --xla_force_host_platform_device_count=8"
# The suite compiles thousands of small programs, and XLA's CPU compiler can be told to
# compile them faster (what users run keeps XLA's defaults; the programs and their
# numbers do not depend on it). KERAX_TEST_XLA_DEFAULTS=1 runs the suite under XLA's
# own defaults.
_FAST_COMPILE = [
    # XLA's older CPU fusion emitters compile them about 20% faster.
    "--xla_cpu_use_fusion_emitters=false",
    # XLA's CPU compiler splits each program's code for compiling on several threads;
    # the suite's two workers already keep both cores busy, so one part compiles faster.
    "--xla_cpu_parallel_codegen_split_count=1",
    # LLVM's optimization level 0 compiles them about 28% faster again. It can move a
    # result by an ulp (no fused multiply-adds), and with the older emitters it computes
    # one colour program wrongly: the few tests that pin a result of XLA's defaults bit
    # for bit, and that program's, are marked ``xla_defaults`` and run in a subprocess
    # under XLA's defaults (tests/_under_defaults.py).
    "--xla_backend_optimization_level=0",
]


def _known_to_xla(flags: list) -> list:
    """The ``flags`` this jaxlib's XLA knows: it aborts a process whose XLA_FLAGS name a
    flag it does not, and newer XLAs drop CPU flags (jaxlib 0.11 has no fusion-emitter
    switch). One short subprocess per unknown flag, in the first process only."""
    while flags:
        probe = subprocess.run(
            [sys.executable, "-c", "import jax; jax.devices('cpu')"],
            env=dict(os.environ, XLA_FLAGS=" ".join(flags), JAX_PLATFORMS="cpu"),
            capture_output=True,
            text=True,
        )
        unknown = [f for f in flags if probe.returncode and f.split("=")[0] in probe.stderr]
        if not unknown:  # all known (or a failure the suite will report itself)
            return flags
        flags = [f for f in flags if f not in unknown]
    return flags


_defaults = os.environ.get("KERAX_TEST_XLA_DEFAULTS") == "1"
if not _defaults and "KERAX_TEST_FAST_FLAGS" not in os.environ:  # workers inherit them
    _wanted = [f for f in _FAST_COMPILE if f.split("=")[0] not in os.environ["XLA_FLAGS"]]
    os.environ["KERAX_TEST_FAST_FLAGS"] = " ".join(_known_to_xla(_wanted))
    os.environ["XLA_FLAGS"] += " " + os.environ["KERAX_TEST_FAST_FLAGS"]
# No persistent compilation cache: the suite's programs compile in ~25 ms each, and
# reading one back from JAX's cache took as long as compiling it, while keying and
# writing every program cost ~5% of the run (the whole suite: 451 s with the cache for
# programs over 0.3 s, 535 s with it for all of them; the time saved was negative).
# A folder for files the processes of one run share (the first process makes it).
_OWN_SHARED = None
if not os.environ.get("KERAX_TEST_SHARED"):
    _OWN_SHARED = os.environ["KERAX_TEST_SHARED"] = tempfile.mkdtemp(prefix="kerax-test-")
_SHARED = os.environ["KERAX_TEST_SHARED"]
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# With PYTHONDONTWRITEBYTECODE set (some images set it), each xdist worker and each of
# the suite's subprocesses compiles kerax's and the tests' sources again, and pytest
# rewrites every test module's asserts again: about 6 s of each worker's collection.
# The suite writes bytecode (into __pycache__ folders, which git ignores).
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    sys.dont_write_bytecode = False

import gc  # noqa: E402
import threading  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _under_defaults import DefaultsRun, run_file  # noqa: E402


def _share_mlir_contexts(uses: int = 64) -> None:
    """Lets ``uses`` lowerings in a row (per thread) share one MLIR context.

    JAX makes a fresh MLIR context for every program it lowers, eager operations
    included, and loading its dialects into it costs about 5 ms: with the persistent
    cache compiling each program once, that was the largest single cost of the suite
    (two test files: 48 s -> 38 s of one process). The IR, and so every compiled
    program, is the same. A lowering that starts inside another one (a context is
    current) gets a context of its own, as before. A JAX whose internals differ is left
    as it is.
    """
    try:
        from jax._src.interpreters import mlir
        from jax._src.lib.mlir import ir

        make, local = mlir.make_ir_context, threading.local()
        ir.Context.current  # noqa: B018 (the check below needs it)
    except (ImportError, AttributeError):
        return

    def shared():
        if ir.Context.current is not None:
            return make()  # a lowering inside another one
        if getattr(local, "left", 0) == 0:
            local.context, local.left = make(), uses
        local.left -= 1
        return local.context

    mlir.make_ir_context = shared


# KERAX_TEST_SHARED_MLIR=0 gives every lowering its own context, as JAX does.
if os.environ.get("KERAX_TEST_SHARED_MLIR") != "0":
    _share_mlir_contexts()


@pytest.fixture
def rng():
    """A seeded NumPy generator, fresh for each test."""
    return np.random.default_rng(0)


@pytest.fixture
def train_step_traces(monkeypatch):
    """The traces of ``Engine.train_step`` from here on, one entry each: a compiled
    program per distinct signature (counted as traces, not by jit's C++ dispatch cache,
    which the whole process shares and which may drop a function's entries)."""
    from kerax.trainer.engine import Engine

    traces, step = [], Engine.train_step

    def counted(self, *args, **kwargs):
        traces.append(self)
        return step(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "train_step", counted)
    return traces


@pytest.fixture
def eight_devices():
    """Skip unless there are 8 (fake CPU) devices; no distribution is left set after."""
    import jax

    from kerax import distribution

    if len(jax.devices()) < 8:
        pytest.skip("needs 8 devices: XLA_FLAGS=--xla_force_host_platform_device_count=8")
    yield
    distribution.set_distribution(None)


@pytest.fixture
def keras_oracle():
    """Real Keras 3 on the JAX backend, or skip when it is not installed."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("the Keras oracle needs KERAS_BACKEND=jax")
    return keras


_RUN_SLOW = os.environ.get("KERAX_SLOW_TESTS") == "1"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (each tens of seconds on 2 cores: building large Keras 3
    reference models) run only with KERAX_SLOW_TESTS=1, so the default suite stays
    within CI's time; tests marked ``gpu`` run only where JAX sees a GPU (the suite
    runs on the CPU unless JAX_PLATFORMS names another platform, e.g. "cuda,cpu"), and
    those marked ``cpu`` only where the CPU is JAX's default backend."""
    if not _RUN_SLOW:
        skip = pytest.mark.skip(reason="slow: set KERAX_SLOW_TESTS=1 to run it")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)
    gpu = [item for item in items if item.get_closest_marker("gpu") is not None]
    if gpu and not _has_gpu():
        skip = pytest.mark.skip(reason='needs a GPU: set JAX_PLATFORMS="cuda,cpu" on a GPU machine')
        for item in gpu:
            item.add_marker(skip)
    cpu = [item for item in items if item.get_closest_marker("cpu") is not None]
    if cpu and _default_backend() != "cpu":
        skip = pytest.mark.skip(reason="pins what XLA's CPU backend does; runs on the CPU")
        for item in cpu:
            item.add_marker(skip)
    _start_defaults_run(config, items)


_GC_DEFAULTS = os.environ.get("KERAX_TEST_GC_DEFAULTS") == "1"


def pytest_collection_finish(session):
    """Python's cycle collector took 5-10% of a worker's time: its full collections (and
    the ``gc.collect()`` that Keras runs each time a layer drops a variable, as
    ``quantize`` does) walk every object alive, and jax, keras, the test modules and the
    compiled programs keep millions alive. What is alive once collected, and after each
    test, is set apart (``gc.freeze``): a collection walks only what the current test
    made, and each test's cyclic garbage is still collected when it ends.
    KERAX_TEST_GC_DEFAULTS=1 keeps Python's settings."""
    if not _GC_DEFAULTS:
        gc.collect()
        gc.freeze()
        gc.set_threshold(5000, 20, 50)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    yield
    if not _GC_DEFAULTS:
        gc.collect()
        gc.freeze()


def _has_gpu() -> bool:
    import jax

    return any(device.platform == "gpu" for device in jax.devices())


def _default_backend() -> str:
    import jax

    return jax.default_backend()


_BY_FILE: dict = {}  # test file -> (outcome by node id, output), when run per file
_OUTCOMES = os.environ.get("KERAX_TEST_OUTCOMES")  # set in that subprocess
_DEFAULTS_RUN = DefaultsRun(os.path.join(_SHARED, "xla-defaults"), _GIVEN_XLA_FLAGS)


def _start_defaults_run(config, items) -> None:
    """One worker (or the only process) starts the background run of every collected
    ``xla_defaults`` test as soon as collection ends (see ``tests/_under_defaults.py``)."""
    if _defaults or _OUTCOMES or os.environ.get("PYTEST_XDIST_WORKER", "gw0") != "gw0":
        return
    marked = [
        item.nodeid
        for item in items
        if item.get_closest_marker("xla_defaults") is not None
        and (_RUN_SLOW or "slow" not in item.keywords)
    ]
    if marked:
        _DEFAULTS_RUN.start(marked, config.rootpath)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Reports a test marked ``xla_defaults`` (a result that holds for what users run but
    not under the suite's fast compile settings, or a run those settings slow down) from
    its run under XLA's defaults, in a subprocess."""
    if _defaults or pyfuncitem.get_closest_marker("xla_defaults") is None:
        return None
    outcomes, output = _DEFAULTS_RUN.outcomes()
    if pyfuncitem.nodeid not in outcomes:  # that run died or never started: this file alone
        path = pyfuncitem.path
        if path not in _BY_FILE:
            marked = [
                item.nodeid
                for item in pyfuncitem.session.items
                if item.path == path and item.get_closest_marker("xla_defaults") is not None
            ]
            _BY_FILE[path] = run_file(marked, pyfuncitem.config.rootpath, _GIVEN_XLA_FLAGS, _SHARED)
        outcomes, output = _BY_FILE[path]
    outcome = outcomes.get(pyfuncitem.nodeid)
    if outcome == "passed":
        return True
    if outcome == "skipped":
        pytest.skip("skipped under XLA's defaults, in a subprocess")
    pytest.fail(f"under XLA's defaults, in a subprocess:\n{output}", pytrace=False)


def pytest_runtest_logreport(report):
    """In that subprocess: each test's outcome, for the process that started it."""
    if _OUTCOMES and (report.when == "call" or report.outcome != "passed"):
        with open(_OUTCOMES, "a") as f:
            f.write(f"{report.outcome} {report.nodeid}\n")


def pytest_unconfigure(config):
    _DEFAULTS_RUN.stop()
    if _OWN_SHARED is not None:
        shutil.rmtree(_OWN_SHARED, ignore_errors=True)
