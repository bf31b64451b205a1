"""Categorical preprocessing layers: Discretization and CategoryEncoding."""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _graph
from kerax.layers.base import Layer
from kerax.layers.preprocessing import _adapt
from kerax.layers.preprocessing._image import check_choice, check_size

_ENCODINGS = ("one_hot", "multi_hot", "count")


def _check_dense(sparse: Any, owner: str) -> None:
    if sparse:
        raise ValueError(
            f"{owner}: sparse=True is not supported; kerax layers return dense arrays. "
            "Pass sparse=False."
        )


def encode(
    indices: jax.Array, mode: str, depth: int, dtype: Any, count_weights: Any = None
) -> jax.Array:
    """One-hot, multi-hot or count encoding of integer ``indices`` (Keras's rules).

    ``one_hot`` encodes each value (a trailing axis of size 1 is replaced by the
    encoding); ``multi_hot``/``count`` reduce the last axis of a batch of samples, so
    ``(batch, length)`` becomes ``(batch, depth)``. Values outside ``[0, depth)`` encode
    to zeros: compiled code cannot raise on data.
    """
    if indices.ndim == 0:
        indices = indices[None]
    if mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        return jax.nn.one_hot(indices, depth, dtype=dtype)
    one_hot = jax.nn.one_hot(indices, depth, dtype=dtype)  # (..., length, depth)
    if mode == "multi_hot":
        return jnp.max(one_hot, axis=-2)
    if count_weights is not None:
        one_hot = one_hot * jnp.asarray(count_weights, dtype)[..., None]
    return jnp.sum(one_hot, axis=-2)


def _note_unknown_shape(layer: Layer, inputs: Any, is_tensor: bool) -> None:
    """Before a first call on inputs Keras does not take as a tensor (a list), record
    the build config Keras's layer then has: ``{"input_shape": None}``."""
    if not layer.built and not is_tensor and not _graph.is_symbolic(inputs):
        layer.__dict__.setdefault("_build_shapes", {"input_shape": None})


class Discretization(Layer):
    """Buckets continuous values by ranges: ``bin_boundaries=[0., 1.]`` gives bins
    ``(-inf, 0)``, ``[0, 1)`` and ``[1, inf)``, numbered 0, 1, 2.

    Args:
        bin_boundaries: increasing inner boundaries; or ``None`` with ``num_bins``.
        num_bins: learn ``num_bins - 1`` boundaries at the data's quantiles with
            :meth:`adapt`.
        epsilon: the quantile summary's error tolerance (smaller: more exact, larger
            summaries).
        output_mode: ``"int"`` (bin indices, int32), or ``"one_hot"``, ``"multi_hot"``,
            ``"count"`` encodings of the indices (see ``CategoryEncoding``).
        sparse: must be ``False`` (dense outputs only).

    Input: numbers of any shape (cast to float). Output: the same shape of int32
    indices; encodings add (one_hot) or replace (multi_hot, count: the last axis) an
    axis of size ``len(bin_boundaries) + 1``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import Discretization
        >>> layer = Discretization(bin_boundaries=[0.0, 1.0, 2.0])
        >>> np.asarray(layer(np.array([[-1.5, 1.0, 3.4, 0.5]]))).tolist()
        [[0, 2, 3, 1]]
    """

    def __init__(
        self,
        bin_boundaries: Any = None,
        num_bins: int | None = None,
        epsilon: float = 0.01,
        output_mode: str = "int",
        sparse: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"Layer '{self.name}' (Discretization)"
        check_choice(output_mode, ("int", *_ENCODINGS), "output_mode", owner)
        _check_dense(sparse, owner)
        if (num_bins is None) == (bin_boundaries is None):
            raise ValueError(
                f"{owner}: pass exactly one of bin_boundaries (fixed bins) or num_bins "
                f"(bins learned by adapt()). Received: bin_boundaries={bin_boundaries!r}, "
                f"num_bins={num_bins!r}"
            )
        if num_bins is not None:
            check_size(num_bins, "num_bins", owner)
        if not isinstance(epsilon, numbers.Real) or not 0 < epsilon <= 1:
            raise ValueError(f"{owner}: epsilon must be in (0, 1]. Received: epsilon={epsilon!r}")
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in np.ravel(np.asarray(bin_boundaries, "float64"))]
            if any(b > a for b, a in zip(bin_boundaries, bin_boundaries[1:])):
                raise ValueError(
                    f"{owner}: bin_boundaries must be sorted in increasing order. "
                    f"Received: bin_boundaries={bin_boundaries}"
                )
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = float(epsilon)
        self.output_mode = output_mode
        self.sparse = False

    def build(self, input_shape: Any = None) -> None:
        """No weights; defined so that get_build_config() records the first input
        shape, as Keras's does for this layer."""
        self.built = True

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        _note_unknown_shape(self, inputs, not isinstance(inputs, (list, tuple)))
        return super().__call__(inputs, *args, **kwargs)

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn ``num_bins - 1`` boundaries at the quantiles of ``data``.

        Uses Keras's streaming quantile summary: each batch is reduced to about
        ``1 / epsilon`` weighted values and merged into a running summary, so a
        generator of batches gives (approximately) the quantiles of all the data and
        exactly Keras's boundaries for the same batches.

        Args:
            data: a NumPy/JAX array or an iterable of batches (``(x, y)`` uses ``x``).
            batch_size: read an array in slices of this many rows.
            steps: read at most this many batches.
        """
        owner = f"Layer '{self.name}' (Discretization)"
        if self.num_bins is None:
            raise ValueError(
                f"{owner} has fixed bin_boundaries and cannot adapt. Create it with "
                "num_bins=... to learn boundaries from data."
            )
        summary = _adapt.empty_summary()
        for batch in _adapt.iter_batches(data, batch_size, steps, owner):
            values = np.asarray(batch).astype("float32")
            summary = _adapt.merge(_adapt.summarize(values, self.epsilon), summary, self.epsilon)
        self.bin_boundaries = _adapt.bin_boundaries(summary, self.num_bins)

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(
                f"Layer '{self.name}' (Discretization) has no bin boundaries yet: call "
                "adapt(data) first, or create it with bin_boundaries=[...]."
            )
        x = jnp.asarray(inputs).astype(self.compute_dtype)  # Keras also takes lists
        boundaries = jnp.asarray(self.bin_boundaries, x.dtype)
        # side="right" puts a value equal to a boundary in the bin that starts there.
        indices = jnp.searchsorted(boundaries, x, side="right").astype("int32")
        if self.output_mode == "int":
            return indices
        return encode(indices, self.output_mode, len(self.bin_boundaries) + 1, self.compute_dtype)

    def get_config(self):
        # Keras's Discretization takes no **kwargs: its config holds only these keys
        # (no `trainable`), or Keras could not load a file kerax wrote.
        base = super().get_config()
        return {
            "name": base["name"],
            "dtype": self.dtype,  # Keras writes the dtype's name here, not the policy
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }

    @classmethod
    def from_config(cls, config: dict) -> Discretization:
        # An adapted layer's config holds both num_bins and the learned boundaries.
        config = dict(config)
        if config.get("num_bins") is not None and config.get("bin_boundaries") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = list(boundaries)
            return layer
        return cls(**config)


class CategoryEncoding(Layer):
    """Encodes integer category ids as one-hot, multi-hot or count vectors.

    Args:
        num_tokens: the number of categories; ids must lie in ``[0, num_tokens)``
            (others encode to zeros).
        output_mode: ``"multi_hot"`` (default: 1 for each id present in a sample),
            ``"one_hot"`` (one vector per id), or ``"count"`` (how often each id occurs).
        sparse: must be ``False`` (dense outputs only).

    Input: integer ids ``(batch, length)`` or ``(batch,)``. Output: ``(batch,
    num_tokens)`` for multi_hot/count (the last axis is the sample);
    for one_hot, ``input_shape + (num_tokens,)``, a trailing axis of 1 replaced.
    Call with ``count_weights`` (shaped like the inputs) to sum weights in count mode.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import CategoryEncoding
        >>> np.asarray(CategoryEncoding(4, output_mode="count")(np.array([[0, 1, 1]]))).tolist()
        [[1.0, 2.0, 0.0, 0.0]]
    """

    def __init__(
        self,
        num_tokens: int | None = None,
        output_mode: str = "multi_hot",
        sparse: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"Layer '{self.name}' (CategoryEncoding)"
        if output_mode == "binary":  # Keras's deprecated name
            output_mode = "multi_hot"
        check_choice(output_mode, _ENCODINGS, "output_mode", owner)
        _check_dense(sparse, owner)
        if num_tokens is None:
            raise ValueError(
                f"{owner}: num_tokens must be set (the number of categories). If it is not "
                "known beforehand, map the values to ids with a lookup layer first."
            )
        self.num_tokens = check_size(num_tokens, "num_tokens", owner)
        self.output_mode = output_mode
        self.sparse = False

    def build(self, input_shape: Any = None) -> None:
        """No weights; defined so that get_build_config() records the first input
        shape, as Keras's does for this layer."""
        self.built = True

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # Keras's CategoryEncoding leaves its inputs unconverted, so a first call on
        # NumPy data (not only on a list) builds it with input_shape=None.
        _note_unknown_shape(self, inputs, isinstance(inputs, jax.Array))
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, count_weights=None):
        inputs = jnp.asarray(inputs)  # Keras also takes lists
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(
                f"Layer '{self.name}' (CategoryEncoding): count_weights is only used with "
                f"output_mode='count'. Received: output_mode={self.output_mode!r}"
            )
        if count_weights is not None and jnp.shape(count_weights) != inputs.shape:
            raise ValueError(
                f"Layer '{self.name}' (CategoryEncoding): count_weights must have the "
                f"inputs' shape {tuple(inputs.shape)}. Received: "
                f"count_weights.shape={tuple(jnp.shape(count_weights))}"
            )
        indices = inputs.astype("int32")
        return encode(indices, self.output_mode, self.num_tokens, self.compute_dtype, count_weights)

    def get_config(self):
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }
