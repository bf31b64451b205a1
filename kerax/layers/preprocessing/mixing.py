"""Batch mixing, after Keras 3: CutMix and MixUp; and Pipeline, a list of layers in order.

CutMix and MixUp combine each image with another image of the same batch (a random
permutation); called on a dict ``{"images": ..., "labels": ...}`` they mix the labels
with the same weights, as Keras 3 does. MixUp also takes bounding boxes (made with
``bounding_box_format``); CutMix refuses them, as Keras's does. Both act only with
``training=True`` and draw their randomness from ``apply``'s key (see ``geometric``), so
they work under ``jit``.
RandAugment and AugMix live in ``augment_policies``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.base import Layer
from kerax.layers.preprocessing import _boxes
from kerax.layers.preprocessing._factors import beta, positive, unit_range
from kerax.layers.preprocessing._image import RandomImageLayer


class _DictMixin(RandomImageLayer):
    """Images alone, or Keras 3's dict ``{"images", "labels"?, "segmentation_masks"?,
    "bounding_boxes"?}`` (boxes only where ``_mix_boxes`` is implemented)."""

    def _mix(self, x, labels, masks):
        """``(x, labels, masks, permutation)`` mixed; ``labels``, ``masks`` may be None."""
        raise NotImplementedError

    def _mix_boxes(self, bounding_boxes, perm, unbatched):
        """The ``"bounding_boxes"`` entry of the output (``perm`` None: not mixed)."""
        raise NotImplementedError

    def call(self, inputs, training=None):
        takes_boxes = type(self)._mix_boxes is not _DictMixin._mix_boxes
        if isinstance(inputs, Mapping) and "bounding_boxes" in inputs and not takes_boxes:
            # Keras refuses them too, in inference as well
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) does not transform "
                f"bounding_boxes, nor does Keras 3's {type(self).__name__}. Pass a dict "
                "without 'bounding_boxes', or use MixUp, which takes them."
            )
        images, data = _boxes.unpack(self, inputs)
        x, unbatched = self._to_batch(images)
        x = self._as_float(x)
        data = {} if data is None else data
        labels, masks = data.get("labels"), data.get("segmentation_masks")
        if masks is not None:
            masks = self._as_float(self._to_batch(jnp.asarray(masks))[0])
        perm = None
        if training and not unbatched:
            x, labels, masks, perm = self._mix(x, labels, masks)
        x = self._from_batch(x, unbatched)
        if not isinstance(inputs, Mapping):
            return x
        data["images"] = x
        if labels is not None:
            data["labels"] = labels
        if masks is not None:
            data["segmentation_masks"] = self._from_batch(masks, unbatched)
        if data.get("bounding_boxes") is not None:
            data["bounding_boxes"] = self._mix_boxes(data["bounding_boxes"], perm, unbatched)
        return data


def _per_row(weights: jax.Array, like: jax.Array) -> jax.Array:
    return weights.reshape((-1,) + (1,) * (like.ndim - 1)).astype(like.dtype)


class MixUp(_DictMixin):
    """MixUp (Zhang et al., 2018): blends each image with another image of the batch.

    Per call, a random permutation ``p`` of the batch and one weight per image
    ``lam ~ Beta(alpha, alpha)`` give ``lam x + (1 - lam) x[p]``; dict labels (and
    segmentation masks) are mixed with the same ``lam``; dict bounding boxes ``(batch,
    N, 4)`` become ``(batch, 2 N, 4)``: an image's own boxes, then its partner's, labels
    likewise (as Keras 3 does; boxes keep their format). Single images pass through.

    Args:
        alpha: the Beta distribution's concentration (> 0); smaller values mix less.
            Default ``0.2``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        seed: an optional int folded into the key.
        bounding_box_format: the format of dict bounding boxes (needed only for them).

    Input: a batch ``(batch, height, width, channels)``, or a dict with ``"images"``
    and optional ``"labels"`` ``(batch, ...)`` (floats, e.g. one-hot). Output: the same
    structure, images in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import MixUp
        >>> data = {"images": np.ones((4, 8, 8, 3)), "labels": np.eye(4)}
        >>> out = MixUp()(data, training=True)
        >>> out["images"].shape, out["labels"].shape
        ((4, 8, 8, 3), (4, 4))
    """

    def __init__(
        self, alpha: float = 0.2, data_format: str | None = None, seed: int | None = None, **kwargs
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.alpha = positive(alpha, "alpha", f"Layer '{self.name}' (MixUp)")

    def _mix(self, x, labels, masks):
        batch = x.shape[0]
        k_perm, k_beta = jax.random.split(self._next_key())
        perm = jax.random.permutation(k_perm, batch)
        lam = beta(k_beta, self.alpha, (batch,))

        def mix(t):
            t = jnp.asarray(t)
            t = t if jnp.issubdtype(t.dtype, jnp.floating) else t.astype(self.compute_dtype)
            w = _per_row(lam, t)
            return w * t + (1 - w) * t[perm]

        return (
            mix(x),
            None if labels is None else mix(labels),
            None if masks is None else mix(masks),
            perm,
        )

    def _mix_boxes(self, bounding_boxes, perm, unbatched):
        # Each image gets its partner's boxes after its own: (batch, 2 N, 4), labels
        # (batch, 2 N). Keras 3.15 joins the labels along the batch axis instead,
        # (2 batch, N), which no longer lines up with its boxes.
        if perm is None:
            return _boxes.as_given(self, bounding_boxes, unbatched)
        boxes, labels = _boxes.batched_boxes(self, bounding_boxes, unbatched)
        boxes = jnp.concatenate([boxes, boxes[perm]], axis=1)
        labels = jnp.concatenate([labels, labels[perm]], axis=1)
        return {**bounding_boxes, "boxes": boxes, "labels": labels}

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "seed": self.seed}


class CutMix(_DictMixin):
    """CutMix (Yun et al., 2019): pastes a box from another image of the batch.

    Per call: a concentration ``a`` drawn in ``factor`` (plus 1e-6), one ``lam ~
    Beta(a, a)`` per image, a box of sides ``sqrt(1 - lam)`` times the width and height
    at a uniform position, and a random permutation ``p``: the box's pixels come from
    ``x[p]``. Dict labels become ``w labels + (1 - w) labels[p]`` where ``1 - w`` is the
    fraction of pixels pasted (segmentation masks are pasted like the images). Single
    images pass through.

    Args:
        factor: the range of ``a``: ``f`` means ``[0, f]``, a pair ``(lower, upper)``
            itself; numbers in ``[0, 1]``. Default ``1.0``.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)``, or a dict with ``"images"``
    and optional ``"labels"`` ``(batch, ...)``. Output: the same structure, images in
    the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import CutMix
        >>> CutMix()(np.ones((4, 8, 8, 3)), training=True).shape
        (4, 8, 8, 3)
    """

    def __init__(
        self, factor: Any = 1.0, seed: int | None = None, data_format: str | None = None, **kwargs
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = unit_range(factor, "factor", f"Layer '{self.name}' (CutMix)")

    def _mix(self, x, labels, masks):
        batch, h, w, _ = x.shape
        k_a, k_lam, k_x, k_y, k_perm = jax.random.split(self._next_key(), 5)
        a = jax.random.uniform(k_a, (), minval=self.factor[0], maxval=self.factor[1]) + 1e-6
        lam = beta(k_lam, a, (batch,))
        ratio = jnp.sqrt(1.0 - lam)

        def bounds(key, length):
            size = ratio * length
            start = jax.random.uniform(key, (batch,)) * (length - size)
            return start[:, None, None], (start + size)[:, None, None]

        (x0, x1), (y0, y1) = bounds(k_x, w), bounds(k_y, h)
        cols = jnp.arange(w, dtype="float32")[None, None, :]
        rows = jnp.arange(h, dtype="float32")[None, :, None]
        box = (cols >= x0) & (cols < x1) & (rows >= y0) & (rows < y1)  # (batch, h, w)
        perm = jax.random.permutation(k_perm, batch)
        # The label weight is the fraction of pixels kept (Keras uses the continuous
        # box area, which can differ from the pixels pasted by a row or column).
        kept = 1.0 - jnp.mean(box.astype("float32"), axis=(1, 2))

        def paste(t):
            return jnp.where(box[..., None], t[perm], t)

        if labels is not None:
            labels = jnp.asarray(labels)
            if not jnp.issubdtype(labels.dtype, jnp.floating):
                labels = labels.astype(self.compute_dtype)
            wk = _per_row(kept, labels)
            labels = wk * labels + (1 - wk) * labels[perm]
        return paste(x), labels, None if masks is None else paste(masks), perm

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


class Pipeline(Layer):
    """Applies a list of layers in order, passing ``training`` through to each.

    Unlike ``Sequential`` it is a plain layer (no model API); any structure a layer
    returns (e.g. MixUp's dict) is handed to the next one.

    Args:
        layers: a list of layers.
        name: an optional layer name.

    Input and output: whatever the first layer takes and the last layer returns.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import Pipeline, RandomFlip, RandomShear
        >>> pipe = Pipeline([RandomFlip(), RandomShear(0.2)])
        >>> pipe(np.ones((2, 8, 8, 3)), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, layers: Any, name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not isinstance(layers, (list, tuple)) or not all(isinstance(v, Layer) for v in layers):
            raise ValueError(
                f"Layer '{self.name}' (Pipeline): layers must be a list of layers. "
                f"Received: layers={layers!r}"
            )
        self._pipeline_layers = list(layers)

    @property
    def layers(self) -> list:
        return list(self._pipeline_layers)

    def call(self, inputs, training=None):
        for layer in self._pipeline_layers:
            inputs = layer(inputs, training=training)
        return inputs

    def get_config(self):
        from kerax.layers import serialize

        # Keras's Pipeline(layers, name) takes nothing else: a file Keras can load.
        layers = [serialize(v) for v in self._pipeline_layers]
        return {"name": self.name, "layers": layers}

    @classmethod
    def from_config(cls, config):
        from kerax.layers import deserialize

        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(
                "Pipeline's config must map 'layers' to a list of serialized layers. "
                f"Received: layers={layers!r}"
            )
        config = {
            **config,
            "layers": [v if isinstance(v, Layer) else deserialize(v) for v in layers],
        }
        return cls(**config)


__all__ = ["CutMix", "MixUp", "Pipeline"]
