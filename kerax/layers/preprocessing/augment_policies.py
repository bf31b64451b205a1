"""Composite augmentation policies after Keras 3: RandAugment and AugMix.

Both apply random chains of geometric and colour operations, act only with
``training=True`` and draw their randomness from ``apply``'s key (see ``geometric``), so
they work under ``jit``: the operation a step picks is a traced index (``lax.switch``),
never a Python choice. The colour operations are those of ``_color_ops``, shared with
the colour layers.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.preprocessing import _boxes
from kerax.layers.preprocessing import _color_ops as ops
from kerax.layers.preprocessing._boxes import affine_boxes
from kerax.layers.preprocessing._factors import log_gammas, positive, uniform, unit_range
from kerax.layers.preprocessing._image import (
    AFFINE_INTERPOLATIONS,
    RandomImageLayer,
    affine_transform,
    check_choice,
    check_size,
    rotation_matrices,
    translation_matrices,
)
from kerax.layers.preprocessing.color import _value_range
from kerax.utils.bounding_boxes import _formats

# RandAugment's value-range maps (see ``_color_ops.rescale``).
_FORM = "shift"


class _Ops:
    """RandAugment's and AugMix's operations with Keras 3's strengths for ``factor``.

    Each is ``op(x, key) -> x`` on a float channels-last batch, drawing per-image
    magnitudes as the matching Keras layer does.
    """

    def __init__(self, factor, value_range, interpolation, dtype):
        self.factor, self.value_range = factor, value_range
        self.interpolation, self.dtype = interpolation, dtype
        self.bits = max(1, int(8 * factor[1]))

    def _affine(self, x, transforms):
        return affine_transform(x, transforms, self.interpolation, "reflect", 0.0)

    # The geometric operations as (batch, 8) transforms, shared by images, masks and boxes.
    def shear_transforms(self, key, b, h, w):
        k_sign, k_x, k_y = jax.random.split(key, 3)
        lo, hi = self.factor
        sign = jnp.where(jax.random.uniform(k_sign, (b,)) > 0.5, -1.0, 1.0)
        sx = sign * jax.random.uniform(k_x, (b,), minval=lo, maxval=hi)
        sy = sign * jax.random.uniform(k_y, (b,), minval=lo, maxval=hi)
        one, zero = jnp.ones((b,)), jnp.zeros((b,))
        return jnp.stack([one, sx, zero, sy, one, zero, zero, zero], axis=1)

    def translation_transforms(self, key, b, h, w):
        k_h, k_w = jax.random.split(key)
        lo, hi = self.factor
        dy = jax.random.uniform(k_h, (b,), minval=lo, maxval=hi) * h
        dx = jax.random.uniform(k_w, (b,), minval=lo, maxval=hi) * w
        return translation_matrices(dx, dy)

    def rotation_transforms(self, key, b, h, w):
        lo, hi = self.factor
        angles = jax.random.uniform(key, (b,), minval=lo * 360.0, maxval=hi * 360.0)
        return rotation_matrices(angles, h, w)

    def shear(self, x, key):
        return self._affine(x, self.shear_transforms(key, *x.shape[:3]))

    def translation(self, x, key):
        return self._affine(x, self.translation_transforms(key, *x.shape[:3]))

    def rotation(self, x, key):
        return self._affine(x, self.rotation_transforms(key, *x.shape[:3]))

    def brightness(self, x, key):
        return ops.brightness(x, uniform(key, x.shape[0], *self.factor), self.value_range)

    def color_degeneration(self, x, key):
        f = uniform(key, x.shape[0], *self.factor).astype(x.dtype)
        return ops.blend(x, ops.gray(x), f, self.value_range)

    def contrast(self, x, key):
        c = uniform(key, x.shape[0], 1.0 - self.factor[0], 1.0 + self.factor[1])
        return ops.contrast(x, c.astype(x.dtype), self.value_range)

    def sharpness(self, x, key):
        s = 2.0 * uniform(key, x.shape[0], *self.factor).astype(x.dtype)
        return ops.sharpen(x, s, self.value_range, method="box")

    def posterization(self, x, key):
        b = x.shape[0]
        if self.bits > 1:  # Keras: randint(1, bits), upper bound excluded
            bits = jax.random.randint(key, (b, 1, 1, 1), 1, self.bits)
        else:
            bits = jnp.ones((b, 1, 1, 1), "int32")
        return ops.posterize(x, bits, self.value_range, form=_FORM, clamp=False)

    def solarization(self, x, key):
        k_add, k_thr = jax.random.split(key)
        lo, hi = self.factor
        add = uniform(k_add, x.shape[0], lo, hi * 255).astype(x.dtype)
        thr = uniform(k_thr, x.shape[0], lo, hi * 255).astype(x.dtype)
        return ops.solarize(x, add, thr, self.value_range, form=_FORM)

    def auto_contrast(self, x, key):
        return ops.auto_contrast(x, self.value_range, form=_FORM, keep_nan=True)

    def equalization(self, x, key, bins=256):
        return ops.equalize(x, self.value_range, bins, form=_FORM, keras_formulas=False)


_RANDAUGMENT_OPS = (
    "shear",
    "translation",
    "rotation",
    "brightness",
    "color_degeneration",
    "contrast",
    "sharpness",
    "posterization",
    "solarization",
    "auto_contrast",
    "equalization",
)
_GEOMETRIC = ("shear", "translation", "rotation")
_AUGMIX_OPS = (
    "shear",
    "translation",
    "rotation",
    "posterization",
    "solarization",
    "auto_contrast",
    "equalization",
)
_AUGMIX_OPS_ALL = (*_AUGMIX_OPS, "brightness", "color_degeneration", "contrast", "sharpness")


def _scan_switch(state, picks, keys, branches):
    """Apply ``branches[picks[i]](state, keys[i])`` in turn: one traced step (a ``scan``
    over a ``switch``), so each operation is traced and compiled once."""

    def step(carry, pick_key):
        pick, key = pick_key
        return jax.lax.switch(pick, branches, carry, key), None

    return jax.lax.scan(step, state, (picks, keys))[0]


def _chain(x, picks, keys, names, ops):
    """Apply ``ops.<names[picks[i]]>`` with ``keys[i]`` in turn to the images ``x``."""
    branches = [lambda x_, k_, n=n: getattr(ops, n)(x_, k_).astype(x_.dtype) for n in names]
    return _scan_switch(x, picks, keys, branches)


def _chain_all(state, picks, keys, names, ops):
    """:func:`_chain` on ``(images, masks, boxes, labels)`` (masks, boxes may be None),
    boxes in ``"xyxy"``; the colour operations leave masks and boxes as they are."""

    def branch(name):
        def apply(state, key):
            x, masks, boxes, labels = state
            if name not in _GEOMETRIC:
                return getattr(ops, name)(x, key).astype(x.dtype), masks, boxes, labels
            b, h, w, _ = x.shape
            t = getattr(ops, f"{name}_transforms")(key, b, h, w)
            x = ops._affine(x, t).astype(x.dtype)
            if masks is not None:
                masks = affine_transform(masks, t, "nearest", "reflect", 0.0)
            if boxes is not None:
                boxes, labels = _formats._clip(affine_boxes(boxes, t), labels, h, w, False)
            return x, masks, boxes, labels

        return apply

    return _scan_switch(state, picks, keys, [branch(n) for n in names])


class _CompositeLayer(RandomImageLayer):
    def _common(self, value_range, factor, interpolation, owner):
        self.value_range = _value_range(value_range, owner)
        self.factor = unit_range(factor, "factor", owner)
        self.interpolation = check_choice(
            interpolation, AFFINE_INTERPOLATIONS, "interpolation", owner
        )

    def _ops(self):
        return _Ops(self.factor, self.value_range, self.interpolation, self.compute_dtype)


class RandAugment(_CompositeLayer):
    """RandAugment (Cubuk et al., 2019): ``num_ops`` random operations in a row.

    Each step picks one of 11 operations for the whole batch (as Keras does): shear,
    translation, rotation, brightness, colour degeneration, contrast, sharpness,
    posterization, solarization, auto-contrast and histogram equalization, with
    per-image magnitudes drawn from ``factor`` as Keras's layers of those names do.

    Args:
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        num_ops: the number of operations applied in sequence. Default 2.
        factor: the strength: ``f`` means ``[0, f]``, a pair ``(lower, upper)`` itself;
            numbers in ``[0, 1]``. Default ``0.5``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"`` (geometric operations).
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        bounding_box_format: the format of dict bounding boxes (needed only for them).

    Input: a batch ``(batch, height, width, channels)`` or one image, or Keras 3's dict
    (see ``_boxes``): each geometric operation also moves the segmentation masks
    (nearest neighbour) and the boxes (clipped after each, as Keras does), in the
    images' order. Output: the same structure, images in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandAugment
        >>> RandAugment()(np.full((2, 8, 8, 3), 100.0), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        value_range: Any = (0, 255),
        num_ops: int = 2,
        factor: Any = 0.5,
        interpolation: str = "bilinear",
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandAugment)"
        self._common(value_range, factor, interpolation, owner)
        self.num_ops = check_size(num_ops, "num_ops", owner)

    def _draw(self, x, training):
        """``(picks, keys)``: indices in ``_RANDAUGMENT_OPS`` and keys; None in inference."""
        if not training:
            return None
        k_idx, k_ops = jax.random.split(self._next_key())
        picks = jax.random.randint(k_idx, (self.num_ops,), 0, len(_RANDAUGMENT_OPS))
        return picks, jax.random.split(k_ops, self.num_ops)

    def call(self, inputs, training=None):
        images, data = _boxes.unpack(self, inputs)
        x, unbatched = self._to_batch(images)
        x = self._as_float(x)
        drawn = self._draw(x, training)
        if data is None:
            if drawn is not None:
                x = _chain(x, *drawn, _RANDAUGMENT_OPS, self._ops())
            return self._from_batch(x, unbatched)
        return self._call_on_dict(x, unbatched, data, drawn)

    def _call_on_dict(self, x, unbatched, data, drawn):
        # Keras's dict input; classification labels are left as they are
        found = data.get("bounding_boxes")
        if drawn is None:
            data["images"] = self._from_batch(x, unbatched)
            if found is not None:
                data["bounding_boxes"] = _boxes.as_given(self, found, unbatched)
            return data
        masks = data.get("segmentation_masks")
        if masks is not None:
            masks = self._as_float(self._to_batch(jnp.asarray(masks))[0])
        boxes = labels = None
        height, width = x.shape[1], x.shape[2]
        if found is not None:
            boxes, labels = _boxes.batched_boxes(self, found, unbatched)
            boxes = _boxes.to_xyxy(self, boxes, height, width)
        state = (x, masks, boxes, labels)
        x, masks, boxes, labels = _chain_all(state, *drawn, _RANDAUGMENT_OPS, self._ops())
        data["images"] = self._from_batch(x, unbatched)
        if masks is not None:
            data["segmentation_masks"] = self._from_batch(masks, unbatched)
        if found is not None:
            data["bounding_boxes"] = _boxes.from_xyxy(
                self, found, boxes, labels, height, width, unbatched
            )
        return data

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "num_ops": self.num_ops,
            "factor": self.factor,
            "interpolation": self.interpolation,
            "seed": self.seed,
        }


class AugMix(_CompositeLayer, pixel_only=True):
    """AugMix (Hendrycks et al., 2020): mixes several random augmentation chains.

    Per call: ``num_chains`` chains of ``chain_depth`` steps, each step one random
    operation or none (so a chain applies 0 to ``chain_depth`` operations), chain
    weights ``w ~ Dirichlet(alpha)`` and ``m ~ Beta(alpha, alpha)``; the output is
    ``m x + (1 - m) sum_i w_i chain_i(x)``, clipped to ``value_range``. Operations are
    RandAugment's (the last four only with ``all_ops``); choices and weights apply to
    the whole batch, magnitudes are drawn per image.

    Args:
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        num_chains: the number of chains. Default 3.
        chain_depth: the most operations per chain. Default 3.
        factor: the strength: ``f`` means ``[0, f]``, a pair itself; numbers in
            ``[0, 1]``. Default ``0.3``.
        alpha: the Beta and Dirichlet concentration (> 0). Default ``1.0``.
        all_ops: also use brightness, colour degeneration, contrast and sharpness.
            Default ``True``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import AugMix
        >>> AugMix()(np.full((2, 8, 8, 3), 100.0), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        value_range: Any = (0, 255),
        num_chains: int = 3,
        chain_depth: int = 3,
        factor: Any = 0.3,
        alpha: float = 1.0,
        all_ops: bool = True,
        interpolation: str = "bilinear",
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (AugMix)"
        self._common(value_range, factor, interpolation, owner)
        self.num_chains = check_size(num_chains, "num_chains", owner)
        self.chain_depth = check_size(chain_depth, "chain_depth", owner)
        self.alpha = positive(alpha, "alpha", owner)
        self.all_ops = bool(all_ops)

    def call(self, inputs, training=None):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        if training:
            ops = self._ops()
            names = (*(_AUGMIX_OPS_ALL if self.all_ops else _AUGMIX_OPS), "identity")
            ops.identity = lambda x_, k_: x_
            k_w, k_idx, k_ops = jax.random.split(self._next_key(), 3)
            # Dirichlet weights and the Beta draw from one set of log-gamma variates
            lg = log_gammas(k_w, self.alpha, (self.num_chains + 2,))
            weights = jax.nn.softmax(lg[: self.num_chains])
            m = jax.nn.sigmoid(lg[-2] - lg[-1])
            shape = (self.num_chains, self.chain_depth)
            picks = jax.random.randint(k_idx, shape, 0, len(names))
            keys = jax.random.split(k_ops, shape)

            def add_chain(mixed, step):
                weight, chain_picks, chain_keys = step
                chain = _chain(x, chain_picks, chain_keys, names, ops)
                return mixed + weight.astype(x.dtype) * chain, None

            mixed, _ = jax.lax.scan(add_chain, jnp.zeros_like(x), (weights, picks, keys))
            m = m.astype(x.dtype)
            x = jnp.clip(m * x + (1 - m) * mixed, *self.value_range)
        return self._from_batch(x, unbatched)

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "num_chains": self.num_chains,
            "chain_depth": self.chain_depth,
            "factor": self.factor,
            "alpha": self.alpha,
            "all_ops": self.all_ops,
            "interpolation": self.interpolation,
            "seed": self.seed,
        }


__all__ = ["AugMix", "RandAugment"]
