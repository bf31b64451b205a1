"""The compiled forward passes of ``predict`` over a device-resident input."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np


class Predictor:
    """Compiled forward passes over the batches of a device-resident input.

    Consecutive batches are grouped in windows of ``per`` batches, and one forward pass
    runs a whole window: XLA then runs one large matmul where it would loop over small
    ones (the tutorial MLP at ``batch_size=32``: about 2x the samples/s of one batch per
    iteration, as fast as one pass over the whole array). ``per`` keeps a window's
    intermediate values under ``PREDICT_WINDOW_BYTES``; it is 1 for a model whose input
    has a fixed batch size. Rows are independent at inference in every built-in layer
    (normalization uses its moving statistics, dropout and noise are off), so a window
    gives the outputs batch by batch would, up to float rounding. (A vmap over the
    window's batches would keep each batch apart, but XLA runs it 2.4x slower.) A window
    is read with one ``dynamic_slice`` (no gather, no padding); the last ends at the last
    row (it overlaps the one before) and only its new rows are kept. Outputs go to the
    host once.
    """

    def __init__(self, model, batch_size: int):
        self.model = model
        self.batch_size = int(batch_size)
        self.fused = jax.jit(self._fused, static_argnames=("windows", "per"))
        self.single = jax.jit(self._single, static_argnames=("per",))
        inputs = getattr(model, "inputs", None) or []
        self.batch_free = all(getattr(t, "shape", (None,))[:1] == (None,) for t in inputs)

    def _forward(self, variables, x, i, per):
        window = per * self.batch_size
        n = jax.tree_util.tree_leaves(x)[0].shape[0]
        if window == n:  # the whole input in one window
            return self.model._apply(variables, (x,), False, None)[0]
        start = jnp.minimum(i * window, n - window)
        xw = jax.tree_util.tree_map(lambda a: jax.lax.dynamic_slice_in_dim(a, start, window), x)
        return self.model._apply(variables, (xw,), False, None)[0]

    def _fused(self, variables, x, windows, per):
        if windows == 1:  # no loop: no stacked output buffer to fill
            return jax.tree_util.tree_map(lambda a: a[None], self._forward(variables, x, 0, per))

        def body(carry, i):
            return carry, self._forward(variables, x, i, per)

        return jax.lax.scan(body, None, jnp.arange(windows))[1]  # (windows, window, ...)

    def _single(self, variables, x, i, per):
        return self._forward(variables, x, i, per)

    def run(self, variables, x, n: int, steps: int, fused: bool, row_bytes: int = 0):
        """Outputs (NumPy) of the first ``min(n, steps * batch_size)`` rows of ``x``.

        ``row_bytes``: the forward pass's intermediate bytes per row (see
        :func:`intermediate_bytes`), which sets how many batches a window holds.
        """
        bs = self.batch_size
        if n < bs:  # one short batch: pad it (on the host, it is small)
            x = jax.tree_util.tree_map(
                lambda a: np.concatenate([np.asarray(a), np.repeat(np.asarray(a)[-1:], bs - n, 0)]),
                x,
            )
        kept, limit = min(n, steps * bs), max(n, bs)
        fit = PREDICT_WINDOW_BYTES // max(1, row_bytes * bs) if self.batch_free else 1
        batches = math.ceil(kept / bs)
        per = max(1, min(limit // bs, batches, fit))
        windows = math.ceil(batches / per)
        per = min(limit // bs, math.ceil(batches / windows))  # as even as the windows go
        window = per * bs
        if fused:
            out = jax.device_get(self.fused(variables, x, windows=windows, per=per))
        else:
            outs = [self.single(variables, x, i, per=per) for i in range(windows)]
            out = jax.tree_util.tree_map(lambda *a: np.stack(a), *jax.device_get(outs))
        overlap = max(0, windows * window - limit)  # rows the last window repeats

        def assemble(a):
            if overlap == 0:
                return a.reshape(-1, *a.shape[2:])[:kept]
            head = a[:-1].reshape(-1, *a.shape[2:])
            return np.concatenate([head, a[-1][overlap:]])[:kept]

        return jax.tree_util.tree_map(assemble, out)


PREDICT_WINDOW_BYTES = 128 << 20
