"""The compiled forward passes of ``predict`` over a device-resident input."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _scope


class Predictor:
    """Compiled forward passes over the batches of an input.

    Rows are independent at inference in every built-in layer (normalization uses its
    moving statistics, dropout and noise are off) and in every model ``predict`` hands
    here (``Model._rows_independent``), so a pass over many batches gives the
    outputs batch by batch would, up to float rounding, and XLA runs one large matmul
    where it would loop over small ones (the tutorial MLP at ``batch_size=32``: about 2x
    the samples/s of one batch per iteration). So an input whose intermediate values fit
    in ``PREDICT_WINDOW_BYTES`` is one pass over all its rows; a larger one is cut in
    windows of whole batches under that bound, in one ``lax.scan``. A window is read with
    one ``dynamic_slice`` (no gather, no padding); the last ends at the last row (it
    overlaps the one before) and only its new rows are kept. (A vmap over the window's
    batches would keep each batch apart, but XLA runs it 2.4x slower.) A model whose
    input has a fixed batch size gets one batch per pass. Outputs go to the host once.

    On the CPU a compiled call reads a NumPy array in place when its data is aligned to
    64 bytes, and copies it otherwise (24 MB: about 1.5 ms, a third of the tutorial
    MLP's pass). :func:`in_place_rows` finds the rows of a large input that can be read
    in place; the few rows around them (fewer than 16 for float32 data) take a second,
    small pass.
    """

    def __init__(self, model, batch_size: int):
        self.model = model
        self.batch_size = int(batch_size)
        self.fused = jax.jit(self._fused, static_argnames=("windows", "window"))
        self.single = jax.jit(self._single, static_argnames=("window",))
        inputs = getattr(model, "inputs", None) or []
        self.batch_free = all(getattr(t, "shape", (None,))[:1] == (None,) for t in inputs)

    def _forward(self, variables, x, key, i, window):
        # A layer that draws random numbers at inference (a VAE's sampling) gets a key
        # per window from predict's key: fresh numbers at every predict, as in Keras.
        window_key = lambda: jax.random.fold_in(key, i)
        n = jax.tree_util.tree_leaves(x)[0].shape[0]
        if window == n:  # the whole input in one window
            return self.model._apply(variables, (x,), False, window_key)[0]
        start = jnp.minimum(i * window, n - window)
        xw = jax.tree_util.tree_map(lambda a: jax.lax.dynamic_slice_in_dim(a, start, window), x)
        return self.model._apply(variables, (xw,), False, window_key)[0]

    def _fused(self, variables, x, key, windows, window):
        if windows == 1:  # no loop: no stacked output buffer to fill
            out = self._forward(variables, x, key, 0, window)
            return jax.tree_util.tree_map(lambda a: a[None], out)

        def body(carry, i):
            return carry, self._forward(variables, x, key, i, window)

        return jax.lax.scan(body, None, jnp.arange(windows))[1]  # (windows, window, ...)

    def _single(self, variables, x, key, i, window):
        return self._forward(variables, x, key, i, window)

    def run(self, variables, x, n: int, steps: int, fused: bool, row_bytes: int = 0):
        """Outputs (NumPy) of the first ``min(n, steps * batch_size)`` rows of ``x``.

        ``row_bytes``: the forward pass's intermediate bytes per row (see
        :func:`intermediate_bytes`), which sets how many rows a pass holds.
        """
        kept = min(n, steps * self.batch_size)
        split = in_place_rows(x, kept) if fused and self.batch_free else None
        if split is not None and split[1] < self.batch_size:
            split = None  # a short input is padded to one batch: copied anyway
        if split is None:
            out, finish = self._launch(variables, x, n, kept, fused, row_bytes)
            return finish(jax.device_get(out))
        start, length = split
        block = jax.tree_util.tree_map(lambda a: a[start : start + length], x)
        edges = jax.tree_util.tree_map(
            lambda a: np.concatenate([a[:start], a[start + length : kept]]), x
        )
        # Both passes are dispatched before either is waited for. The edges are a fixed
        # number of rows (the alignment period less one): one compile per model.
        main, finish = self._launch(variables, block, length, length, True, row_bytes)
        rest = self.fused(
            variables, edges, _scope.next_global_key(), windows=1, window=kept - length
        )
        main, rest = jax.device_get((main, rest))
        return jax.tree_util.tree_map(
            lambda m, e: np.concatenate([e[0, :start], m, e[0, start:]]), finish(main), rest
        )

    def _launch(self, variables, x, n: int, kept: int, fused: bool, row_bytes: int):
        """Dispatch the passes over the first ``kept`` of ``x``'s ``n`` rows.

        Returns the outputs on the device and the function that assembles them, once on
        the host, into the rows kept.
        """
        bs = self.batch_size
        if n < bs:  # one short batch: pad it (on the host, it is small)
            if self.batch_free:  # to the next power of two: at most 2x the rows' work
                bs = short_rows(n, bs)
            x = jax.tree_util.tree_map(
                lambda a: np.concatenate([np.asarray(a), np.repeat(np.asarray(a)[-1:], bs - n, 0)]),
                x,
            )
        limit = max(n, bs)
        key = _scope.next_global_key()
        if fused and self.batch_free and kept * row_bytes <= PREDICT_WINDOW_BYTES:
            windows, window = 1, max(kept, bs)  # one pass over every row kept
        else:
            fit = PREDICT_WINDOW_BYTES // max(1, row_bytes * bs) if self.batch_free else 1
            batches = math.ceil(kept / bs)
            per = max(1, min(limit // bs, batches, fit))
            windows = math.ceil(batches / per)
            window = min(limit // bs, math.ceil(batches / windows)) * bs  # even windows
        if fused:
            out = self.fused(variables, x, key, windows=windows, window=window)
        else:
            out = [self.single(variables, x, key, i, window=window) for i in range(windows)]
        overlap = max(0, windows * window - limit)  # rows the last window repeats

        def assemble(a):
            if overlap == 0:
                return a.reshape(-1, *a.shape[2:])[:kept]
            head = a[:-1].reshape(-1, *a.shape[2:])
            return np.concatenate([head, a[-1][overlap:]])[:kept]

        def finish(host):
            if not fused:
                host = jax.tree_util.tree_map(lambda *a: np.stack(a), *host)
            return jax.tree_util.tree_map(assemble, host)

        return out, finish


def short_rows(n: int, batch_size: int) -> int:
    """The rows a pass over an input of ``n < batch_size`` rows computes: ``n`` padded to
    the next power of two (at most ``batch_size``).

    One program for every size would pad to ``batch_size``: 16x the work for 2 images at
    ``batch_size=32`` (a ResNet50 on 64x64 images: 0.9 s per call instead of 0.2 s on
    a 2-core CPU); one per size would compile for every new size, as Keras does. Powers
    of two compile at most log2(batch_size) + 1 programs and compute under 2x the rows.
    """
    return min(batch_size, 1 << max(0, n - 1).bit_length())


def forward_batches(model, batches, on_begin=None, on_end=None) -> Any:
    """``predict`` batch by batch: each ``(x, n_valid)`` of ``batches`` (``x`` padded to
    a full batch, its first ``n_valid`` rows real) forwarded, its outputs (NumPy) passed
    to ``on_end(i, {"outputs": ...})``, and all joined by :func:`join_batches`.

    Outputs whose first axis is the batch axis keep their real rows; others (a
    transpose, a reduction over the batch) come from the real rows alone, the short
    last batch unpadded, as Keras computes them.
    """
    from kerax.trainer.engine import forward_batch

    forward, variables, outputs, major = forward_batch(model), model.get_variables(), [], None
    for i, (xb, n) in enumerate(batches):
        if major is None:
            major = model._rows_independent(xb)
        if not major:
            xb = jax.tree_util.tree_map(lambda a, n=n: a[:n], xb)
        if on_begin is not None:
            on_begin(i)
        out = jax.device_get(forward(variables, xb))
        out = jax.tree_util.tree_map(lambda a, n=n, m=major: np.asarray(a[:n] if m else a), out)
        outputs.append(out)
        if on_end is not None:
            on_end(i, {"outputs": out})
    if not outputs:
        raise ValueError("predict() received no batches.")
    return join_batches(outputs, model.name)


def join_batches(outputs: list, name: str) -> Any:
    """Each output's batches concatenated along their first axis, as Keras's ``predict``
    joins them, with a clear error where they cannot be (Keras's is NumPy's)."""

    def join(path, *parts):
        label = jax.tree_util.keystr(path)
        where = f"output {label} of model '{name}'" if label else f"the output of model '{name}'"
        fix = (
            "Return outputs whose first axis is the batch axis, or call the model "
            "directly (model(x) or predict_on_batch(x)) to get its outputs for one batch."
        )
        if np.ndim(parts[0]) == 0:
            raise ValueError(
                f"predict() joins the batches' outputs along their first axis (as Keras "
                f"does), but {where} is a scalar (shape ()), which has no axis to join "
                f"along. {fix}"
            )
        shapes = {np.shape(a)[1:] for a in parts}
        if len(shapes) > 1:
            seen = sorted({np.shape(a) for a in parts})
            raise ValueError(
                f"predict() joins the batches' outputs along their first axis (as Keras "
                f"does), but {where} has shapes {seen} in different batches, which differ "
                "beyond that axis: its first axis is not the batch axis, and the batches "
                f"are not all the same size. {fix} A batch_size that divides the number "
                "of samples gives batches of equal size."
            )
        return np.concatenate(parts)

    return jax.tree_util.tree_map_with_path(join, *outputs)


def in_place_rows(x, kept: int) -> tuple[int, int] | None:
    """``(start, length)``: the rows of ``x`` a compiled call can read in place, or None.

    For host NumPy inputs of at least ``IN_PLACE_MIN_BYTES`` on the CPU whose rows are
    not a multiple of 64 bytes long (an aligned array is read in place as it is, and
    in such an unaligned one no row is aligned). ``start`` is the first row aligned to
    64 bytes in every input (0 if there is none: then the block is copied as before),
    and ``length`` leaves out fewer rows than the alignment period, so the compiled
    shapes depend on the number of rows only, not on where the arrays lie in memory.
    """
    leaves = jax.tree_util.tree_leaves(x)
    if not leaves or jax.default_backend() != "cpu":
        return None
    for a in leaves:
        if not (
            isinstance(a, np.ndarray)
            and a.ndim
            and a.flags.c_contiguous
            and a.dtype == jax.dtypes.canonicalize_dtype(a.dtype)
        ):
            return None  # a device array, or one jax converts (copies) anyway
    if sum(a.strides[0] for a in leaves) * kept < IN_PLACE_MIN_BYTES:
        return None
    period = ALIGN // math.gcd(ALIGN, *(a.strides[0] for a in leaves))
    if period == 1 or kept <= period:
        return None
    aligned = (
        r
        for r in range(period)
        if all((a.ctypes.data + r * a.strides[0]) % ALIGN == 0 for a in leaves)
    )
    return next(aligned, 0), kept - (period - 1)


PREDICT_WINDOW_BYTES = 128 << 20
ALIGN = 64  # XLA's CPU buffer alignment: host data aligned to it is used in place
IN_PLACE_MIN_BYTES = 4 << 20  # below this the copy takes under a quarter millisecond
