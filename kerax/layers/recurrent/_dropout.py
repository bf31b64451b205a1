"""``DropoutRNNCell``: variational dropout masks for recurrent cells."""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp

from kerax import _scope


class DropoutRNNCell:
    """Mixin for cells with ``dropout`` / ``recurrent_dropout`` rates (and ``seed``).

    Variational dropout (Gal & Ghahramani, 2016): ``RNN`` draws one mask per call
    before the loop and every timestep reuses it; a cell called on its own draws a
    fresh mask per call.
    """

    _dropout_mask = None
    _recurrent_dropout_mask = None

    def _draw_mask(self, like: jax.Array, rate: float) -> jax.Array:
        key = _scope.next_key()
        seed = getattr(self, "seed", None)
        if seed is not None:
            key = jax.random.fold_in(key, seed)
        keep = jax.random.bernoulli(key, 1.0 - rate, like.shape)
        return keep.astype(like.dtype) / jnp.asarray(1.0 - rate, like.dtype)

    def get_dropout_mask(self, step_input: jax.Array) -> jax.Array | None:
        """The input mask of this call (``None`` without dropout)."""
        if self._dropout_mask is not None or not self.dropout:
            return self._dropout_mask
        return self._draw_mask(step_input, self.dropout)

    def get_recurrent_dropout_mask(self, state: jax.Array) -> jax.Array | None:
        """The recurrent-state mask of this call (``None`` without recurrent dropout)."""
        if self._recurrent_dropout_mask is not None or not self.recurrent_dropout:
            return self._recurrent_dropout_mask
        return self._draw_mask(state, self.recurrent_dropout)

    @contextlib.contextmanager
    def _fixed_dropout_masks(self, step_input, state, training):
        """Hold one pair of masks for every step of one ``RNN`` call."""
        if training:
            self._dropout_mask = self.get_dropout_mask(step_input)
            self._recurrent_dropout_mask = self.get_recurrent_dropout_mask(state)
        try:
            yield
        finally:
            # The masks are values of this trace only; never let them outlive it.
            self._dropout_mask = None
            self._recurrent_dropout_mask = None
