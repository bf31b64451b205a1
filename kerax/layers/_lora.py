"""LoRA (low-rank adaptation) for the layers with one main weight matrix.

Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models",
https://arxiv.org/abs/2106.09685. ``layer.enable_lora(rank)`` freezes the layer's main
weight ``W`` (``kernel``, or ``embeddings``) and adds two trainable float32 factors
``A`` (``W.shape[:-1] + (rank,)``) and ``B`` (``(rank, W.shape[-1])``, zeros at first);
the layer then computes with ``W + (lora_alpha / rank) * (A @ B)``. Reading
``layer.kernel`` gives that merged weight, as in Keras 3 (the frozen one is
``layer._kernel``), and a Keras weights file stores only the merged weight: saving
merges, loading fills ``W`` and zeroes the factors.

``Dense``, ``EinsumDense``, ``Embedding`` (and ``ReversibleEmbedding``) and
``Conv1D``/``Conv2D``/``Conv3D`` mix :class:`LoRA` in; each names its weight in
``_lora_weight`` and calls ``_init_lora`` from ``__init__`` and ``_build_lora`` at the
end of ``build``.
"""

from __future__ import annotations

import numbers
import posixpath
from typing import Any

import jax.numpy as jnp
import numpy as np

from kerax import initializers
from kerax._variable import Variable


def _is_rank(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_alpha(layer: Any, lora_alpha: Any) -> None:
    if lora_alpha is None:
        return
    if (
        isinstance(lora_alpha, bool)
        or not isinstance(lora_alpha, numbers.Real)
        or not np.isfinite(lora_alpha)
        or lora_alpha <= 0
    ):
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}): `lora_alpha` must be a positive "
            f"number (the LoRA update is scaled by lora_alpha / lora_rank) or None (it then "
            f"equals the rank). Received: lora_alpha={lora_alpha!r}"
        )


def adapted_weight(name: str) -> property:
    """The class attribute for a LoRA-adaptable weight: the weight itself (its handle
    outside ``call``, its array inside) while LoRA is off, the merged array once on."""

    def get(self):
        base = self._lora_handle(name)
        if not self.__dict__.get("lora_enabled"):
            return self._lora_read(base)
        return self._lora_merged(base)

    return property(get, doc=f"The layer's ``{name}``, with the LoRA update merged in.")


def frozen_weight(name: str) -> property:
    """Keras's ``layer._kernel``/``layer._embeddings``: the weight without the LoRA update."""

    def get(self):
        return self._lora_read(self._lora_handle(name))

    return property(get, doc=f"The layer's own ``{name}`` weight (no LoRA update).")


class LoRA:
    """Mixed into a ``Layer``: LoRA on its weight named ``_lora_weight``."""

    _lora_weight = "kernel"  # the adapted weight; its factors are lora_<name>_a / _b
    _lora_supported = True  # False: a subclass without LoRA (as in Keras)

    # -- setup -------------------------------------------------------------------------
    def _init_lora(self, lora_rank: Any, lora_alpha: Any) -> None:
        """Check and store the constructor's ``lora_rank``/``lora_alpha``."""
        given = [
            k for k, v in (("lora_rank", lora_rank), ("lora_alpha", lora_alpha)) if v is not None
        ]
        if given and not self._lora_supported:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {given}. "
                "LoRA is available on Dense, EinsumDense, Embedding and Conv1D/Conv2D/Conv3D "
                "only (as in Keras); remove lora_rank/lora_alpha."
            )
        if lora_rank is not None and (not _is_rank(lora_rank) or lora_rank < 0):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): `lora_rank` must be a positive "
                f"integer, or None (or 0) for no LoRA. Received: lora_rank={lora_rank!r}"
            )
        _check_alpha(self, lora_alpha)
        self.lora_rank = None if lora_rank is None else int(lora_rank)
        self.lora_alpha = lora_alpha if lora_alpha is not None else self.lora_rank
        self.lora_enabled = False

    def _build_lora(self) -> None:
        """At the end of ``build``: turn LoRA on when the constructor asked for it."""
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    def _lora_names(self) -> tuple[str, str]:
        return f"lora_{self._lora_weight}_a", f"lora_{self._lora_weight}_b"

    def _lora_handle(self, name: str) -> Variable:
        var_attrs = self.__dict__["_var_attrs"]
        if name not in var_attrs:
            if not self.built:
                raise AttributeError(
                    f"Layer '{self.name}' ({type(self).__name__}) is not built yet, so it has "
                    f"no `{name}`. Call it on data or call build(input_shape) first."
                )
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        return var_attrs[name]

    def _lora_read(self, handle: Variable) -> Any:
        from kerax import _scope

        return handle if _scope.current() is None else self._read(handle)

    def _lora_weight_shape(self) -> tuple:
        """The adapted weight's shape (a quantized layer's unpacked one, see _quantize)."""
        return self._lora_handle(self._lora_weight).shape

    def _lora_base(self, value: Any) -> Any:
        """The weight value the update is added to (int4 layers unpack theirs)."""
        return value

    # -- the merged weight -------------------------------------------------------------
    def _lora_merged(self, base: Variable) -> Any:
        """``W + (alpha / rank) * (A @ B)`` in the compute dtype (inside ``call``, from
        the bound values; outside, from the stored ones)."""
        from kerax import _scope

        a_name, b_name = self._lora_names()
        handles = (base, self._lora_handle(a_name), self._lora_handle(b_name))
        if _scope.current() is None:
            w, a, b = (h.value for h in handles)
        else:
            w, a, b = (self._read(h) for h in handles)
        w = self._lora_base(w)
        scale = self.lora_alpha / self.lora_rank
        return jnp.add(w, scale * jnp.matmul(a, b)).astype(self.compute_dtype)

    def enable_lora(
        self,
        rank: int,
        lora_alpha: Any = None,
        a_initializer: Any = "he_uniform",
        b_initializer: Any = "zeros",
    ) -> None:
        """Freeze the layer's weight and train a rank-``rank`` update of it instead.

        Adds the trainable float32 weights ``lora_<weight>_a`` (``W.shape[:-1] +
        (rank,)``) and ``lora_<weight>_b`` (``(rank, W.shape[-1])``); the layer then
        computes with ``W + (lora_alpha / rank) * (a @ b)``. Both factors get the
        weight's regularizer. A model compiled before this picks the new weights up at
        its next ``fit`` (its optimizer state starts afresh).

        Args:
            rank: the rank of the update, a positive integer.
            lora_alpha: the update's scale numerator (default: ``rank``, a scale of 1).
            a_initializer, b_initializer: initializers of the factors (Keras defaults:
                ``"he_uniform"`` and ``"zeros"``, so the layer starts unchanged).

        Raises:
            ValueError: if the layer is not built, LoRA is already on, the weight has a
                constraint, or ``rank``/``lora_alpha`` are not positive.
        """
        cls = type(self).__name__
        if not self._lora_supported:
            raise TypeError(
                f"Layer '{self.name}' ({cls}) does not support LoRA; Keras offers it on "
                "Dense, EinsumDense, Embedding and Conv1D/Conv2D/Conv3D only."
            )
        constraint_attr = f"{self._lora_weight}_constraint"
        if getattr(self, constraint_attr, None) is not None:
            raise ValueError(
                f"Layer '{self.name}' ({cls}): LoRA is incompatible with weight constraints "
                f"(the merged weight is never projected). Remove the `{constraint_attr}` "
                f"argument to use LoRA. Received: {constraint_attr}="
                f"{getattr(self, constraint_attr)!r}"
            )
        if not self.built:
            raise ValueError(
                f"Cannot enable LoRA on layer '{self.name}' ({cls}): it is not built yet, so "
                f"it has no `{self._lora_weight}` to adapt. Call it on data, call "
                "build(input_shape), or pass lora_rank= to the constructor instead."
            )
        if self.__dict__.get("lora_enabled"):
            raise ValueError(
                f"LoRA is already enabled on layer '{self.name}' ({cls}) with rank "
                f"{self.lora_rank}; it can be enabled only once per layer."
            )
        if not _is_rank(rank) or rank <= 0:
            raise ValueError(
                f"Layer '{self.name}' ({cls}): the LoRA rank must be a positive integer. "
                f"Received: rank={rank!r}"
            )
        _check_alpha(self, lora_alpha)
        rank = int(rank)
        base = self._lora_handle(self._lora_weight)
        regularizer = getattr(self, f"{self._lora_weight}_regularizer", None)
        shape = self._lora_weight_shape()
        shapes = (shape[:-1] + (rank,), (rank, shape[-1]))
        inits = (initializers.get(a_initializer), initializers.get(b_initializer))
        folder = posixpath.dirname(base.path)
        for attr, shape, init in zip(self._lora_names(), shapes, inits):
            # float32 whatever the policy: small updates must not underflow (as Keras)
            v = self.add_weight(
                shape=shape, initializer=init, dtype="float32", regularizer=regularizer, name=attr
            )
            v.path = posixpath.join(folder, v.name)  # next to the weight, wherever called
            setattr(self, attr, v)
        base.trainable = False
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    # -- saving (Keras's store layout: the merged weight, no factors) ------------------
    def _stored_variables(self) -> list[Variable]:
        """The variables Keras saves for this layer, in its order, without the factors."""
        factors = set(self._lora_names()) if self.lora_enabled else set()
        return [v for v in self._ordered_own_variables() if v.name not in factors]

    def _stored_value(self, v: Variable) -> Any:
        if self.lora_enabled and v is self._lora_handle(self._lora_weight):
            return self._lora_merged(v).astype(v.dtype)  # Keras saves the merged weight
        return v.value

    def load_own_variables(self, store: Any) -> None:
        """Read arrays written by ``save_own_variables`` (or Keras's): the weight gets the
        merged value and the LoRA factors restart at zero."""
        super().load_own_variables(store)
        if self.lora_enabled:
            for attr in self._lora_names():
                v = self._lora_handle(attr)
                v.assign(np.zeros(v.shape, v.dtype))

    # -- config ------------------------------------------------------------------------
    def _lora_config(self) -> dict:
        """``lora_rank``/``lora_alpha`` for ``get_config`` (absent without LoRA)."""
        if not self.lora_rank:
            return {}
        return {"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha}
