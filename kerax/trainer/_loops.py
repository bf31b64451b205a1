"""How compiled loops run on each backend: which models loop, with which options and
trip counts, and compiling programs in the background.

kerax runs many training steps inside one compiled program (``steps_loop``) where the
backend runs that fast, and one step per call where it does not (``loops_are_fast``).
"""

from __future__ import annotations

import functools
import threading

import jax
import jax.numpy as jnp
import numpy as np


def precompile(jitted, *args) -> threading.Thread:
    """Compile ``jitted`` for the shapes and shardings of ``args`` in a background thread.

    XLA compiles on one core; fit's other programs (the logs, validation) compile on the
    other while the train program compiles, and jax's caches hand the result to the
    later real call. Errors are left for that call to raise.
    """

    def abstract(a):
        if isinstance(a, jax.Array):
            return jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding)
        return a

    shapes = jax.tree_util.tree_map(abstract, args)  # read here: the buffers get donated

    def run():
        try:
            jitted.lower(*shapes).compile()
        except Exception:  # noqa: BLE001 - the real call reports it
            pass

    thread = threading.Thread(target=run, name="kerax-precompile", daemon=True)
    thread.start()
    return thread


def static_trip_counts() -> bool:
    """Whether the fused loops get a static trip count (``steps_loop``) on this backend.

    XLA's GPU backend runs a while loop whose trip count it does not know by copying the
    loop condition back to the host after every iteration, a device sync per step; with
    a known count it launches the iterations back to back (measured on an H200: the
    tutorial MLP's fused epoch at 0.59M samples/s with bounds known only at run time,
    ~1.1M for a hand-written ``lax.scan``). The CPU runs loop conditions on the host
    anyway, and TPUs on the device.
    """
    return jax.default_backend() == "gpu"


def steps_loop(start, stop, body, state, trips: int | None):
    """``lax.fori_loop(start, stop, body, state)``; with a static ``trips`` (at least
    ``stop - start``), a loop of exactly ``trips`` iterations (a trip count XLA knows)
    whose iterations past ``stop`` leave the state as it was."""
    if trips is None:
        return jax.lax.fori_loop(start, stop, body, state)

    def masked(j, old):
        i = start + j
        new = body(i, old)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(i < stop, a, b), new, old)

    return jax.lax.fori_loop(0, trips, masked, state)


_CPU_LOOP_OPTIONS = (("xla_backend_optimization_level", 1),)


def fused_compiler_options(loops_fast: bool) -> dict | None:
    """XLA options for the fused loops (many steps in one program) of a model.

    On CPU, LLVM's optimization level 1 compiles such a program 7-15% faster than the
    default level 2 (a tutorial MLP's epoch: 0.41 s instead of 0.45 s), and runs dense,
    normalization and recurrent models as fast (measured: MLPs of batch 32 and 1024, a
    BatchNorm/LayerNorm MLP, a GRU). Convolutional models run 8-11% slower at level 1:
    they keep the default (and run one step per call on CPU anyway). An XLA that no
    longer knows an option gets none: its defaults, rather than an error.
    """
    if loops_fast and jax.default_backend() == "cpu" and accepted(_CPU_LOOP_OPTIONS):
        return dict(_CPU_LOOP_OPTIONS)
    return None


@functools.cache
def accepted(options: tuple) -> bool:
    """Whether this jaxlib's XLA takes these ``(name, value)`` compile options (one tiny
    compile, once per process; newer XLAs drop options)."""
    try:
        jax.jit(lambda x: x, compiler_options=dict(options)).lower(np.float32(0)).compile()
    except jax.errors.JaxRuntimeError:
        return False
    return True


def loops_are_fast(jaxpr) -> bool:
    """False when running this computation inside a loop body is slow on this backend."""
    if jax.default_backend() != "cpu":
        return True
    return not _has_primitive(jaxpr.jaxpr, _SLOW_IN_CPU_LOOPS)


_SLOW_IN_CPU_LOOPS = frozenset({"conv_general_dilated"})


def _has_primitive(jaxpr, names) -> bool:
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in names:
            return True
        for param in eqn.params.values():
            subs = param if isinstance(param, (list, tuple)) else [param]
            for sub in subs:
                inner = getattr(sub, "jaxpr", None)
                if inner is not None and _has_primitive(getattr(inner, "jaxpr", inner), names):
                    return True
    return False
