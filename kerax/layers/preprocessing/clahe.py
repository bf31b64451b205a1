"""Contrast limited adaptive histogram equalization (CLAHE), after Keras 3.

Zuiderveld, "Contrast Limited Adaptive Histogram Equalization", Graphics Gems IV (1994).
Each image channel is cut into a grid of tiles; each tile gets a 256-bin histogram whose
counts above a limit are spread evenly over all bins, and that histogram's normalized
CDF is the tile's tone map. A pixel's value is the bilinear blend of the maps of the
four tiles whose centres surround it, so tile borders do not show.

The numbers follow Keras 3.15's layer step for step (the same padding, bin rule,
cdf normalization and interpolation weights), so that results agree to float rounding.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.preprocessing._color_ops import rescale
from kerax.layers.preprocessing._image import ImageLayer
from kerax.layers.preprocessing.color import _value_range

_BINS = 256


def _tone_maps(tiles: jax.Array, clip_limit: float) -> jax.Array:
    """Per-tile tone maps ``(..., 256)`` in [0, 255] from integer levels ``(..., n)``."""
    n = tiles.shape[-1]
    lead = tiles.shape[:-1]
    flat = tiles.reshape(-1, n)
    rows = jnp.arange(flat.shape[0])[:, None]
    # A scatter-add instead of Keras's one-hot sum: the same counts, without the
    # (pixels x 256) intermediate.
    hist = jnp.zeros((flat.shape[0], _BINS), "float32").at[rows, flat].add(1.0)
    hist = hist.reshape(*lead, _BINS)
    if clip_limit > 0:
        limit = jnp.float32(clip_limit * n / float(_BINS))
        clipped = jnp.clip(hist, 0, limit)
        excess = jnp.sum(hist - clipped, axis=-1, keepdims=True)
        hist = clipped + excess / float(_BINS)
    cdf = jnp.cumsum(hist, axis=-1)
    cdf_min = jnp.min(cdf, axis=-1, keepdims=True)
    span = jnp.float32(n) - cdf_min
    span = jnp.where(span == 0, jnp.ones_like(span), span)
    return jnp.clip((cdf - cdf_min) * 255.0 / span, 0, 255)


def _corners(size: int, tile: int, grid: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """For each pixel row (or column): the two neighbouring tile centres, as indices
    into the edge-padded grid of ``grid + 2`` maps, and the weight of the second."""
    pos = (jnp.arange(size, dtype="float32") - (tile / 2.0)) / tile + 1.0
    low = jnp.floor(pos)
    weight = pos - low
    low_i = jnp.clip(low, 0, grid + 1).astype("int32")
    high_i = jnp.clip(low + 1.0, 0, grid + 1).astype("int32")
    return low_i, high_i, weight


@functools.partial(jax.jit, static_argnames=("value_range", "clip_limit", "tile_grid_size"))
def clahe(x: jax.Array, value_range: tuple, clip_limit: float, tile_grid_size: tuple) -> jax.Array:
    """CLAHE of a channels-last batch ``(batch, height, width, channels)``, per channel.

    Returns float32 values in ``value_range``; the caller casts. Mapped over the images
    (``vmap``): its histograms and lookups carry the batch as a batching axis, which
    keeps each image's rows visibly its own (``kerax.trainer.row_analysis``).
    """
    image = lambda a: _clahe_batch(a[None], value_range, clip_limit, tile_grid_size)[0]
    return jax.vmap(image)(x)


def _clahe_batch(x, value_range: tuple, clip_limit: float, tile_grid_size: tuple) -> jax.Array:
    batch, height, width, channels = x.shape
    grid_h, grid_w = tile_grid_size
    tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
    y = rescale(x.astype("float32"), value_range, (0, 255))
    pad = ((0, 0), (0, tile_h * grid_h - height), (0, tile_w * grid_w - width), (0, 0))
    y = jnp.pad(y, pad, mode="symmetric")  # (batch, H, W, channels), tiles divide H and W
    levels = jnp.clip(y.astype("int32"), 0, _BINS - 1)

    tiles = levels.reshape(batch, grid_h, tile_h, grid_w, tile_w, channels)
    tiles = tiles.transpose(0, 1, 3, 5, 2, 4).reshape(
        batch, grid_h, grid_w, channels, tile_h * tile_w
    )
    maps = _tone_maps(tiles, clip_limit)  # (batch, grid_h, grid_w, channels, 256)
    # Edge tiles extend their maps outwards: pixels beyond the outer centres use them.
    maps = jnp.pad(maps, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")

    y0, y1, wy = _corners(tile_h * grid_h, tile_h, grid_h)
    x0, x1, wx = _corners(tile_w * grid_w, tile_w, grid_w)
    b = jnp.arange(batch)[:, None, None, None]
    c = jnp.arange(channels)[None, None, None, :]
    y0, y1, wy = y0[None, :, None, None], y1[None, :, None, None], wy[None, :, None, None]
    x0, x1, wx = x0[None, None, :, None], x1[None, None, :, None], wx[None, None, :, None]

    def look(rows, cols):
        return maps[b, rows, cols, c, levels]  # (batch, H, W, channels)

    top = look(y0, x0) * (1.0 - wx) + look(y0, x1) * wx
    bottom = look(y1, x0) * (1.0 - wx) + look(y1, x1) * wx
    out = (top * (1.0 - wy) + bottom * wy)[:, :height, :width, :]
    return rescale(out, (0, 255), value_range)


def _tile_grid_size(value: Any, owner: str) -> tuple[int, int]:
    if not isinstance(value, (tuple, list)):
        raise TypeError(
            f"{owner}: tile_grid_size must be a tuple of 2 integers (rows, columns), e.g. "
            f"(8, 8). Received: tile_grid_size={value!r}"
        )
    if len(value) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise ValueError(
            f"{owner}: tile_grid_size must be 2 positive integers (rows, columns), e.g. "
            f"(8, 8). Received: tile_grid_size={value!r}"
        )
    return int(value[0]), int(value[1])


class ContrastLimitedAdaptiveHistogramEqualization(ImageLayer, pixel_only=True):
    """Contrast limited adaptive histogram equalization (CLAHE) of each image channel.

    Values, mapped to [0, 255], are cut into ``tile_grid_size`` tiles (the image is
    padded by mirroring to a whole number of tiles). Each tile's 256-bin histogram is
    clipped at ``clip_limit`` times the mean bin count, the clipped excess spread evenly
    over the bins, and its normalized CDF maps levels to [0, 255]. Each pixel blends the
    maps of its four nearest tile centres bilinearly; the result is mapped back to
    ``value_range`` and cast to the input dtype. Deterministic and active in training
    and inference, as in Keras.

    Args:
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        clip_limit: the histogram clip level, a multiple of the mean bin count (default
            4.0); ``0`` or below turns clipping off (plain adaptive equalization).
        tile_grid_size: the number of tiles ``(rows, columns)`` (default ``(8, 8)``).
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape and dtype (floating inputs in the compute dtype; integer inputs stay integer,
    truncated as in Keras).

    Example:
        >>> import numpy as np
        >>> from kerax.layers import ContrastLimitedAdaptiveHistogramEqualization
        >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1) * 10
        >>> layer = ContrastLimitedAdaptiveHistogramEqualization(
        ...     clip_limit=0, tile_grid_size=(1, 1)
        ... )
        >>> layer(x)[0, :, 0, 0].tolist()  # 16 levels spread evenly over [0, 255]
        [0.0, 68.0, 136.0, 204.0]
    """

    def __init__(
        self,
        value_range: Any = (0, 255),
        clip_limit: float = 4.0,
        tile_grid_size: Any = (8, 8),
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (ContrastLimitedAdaptiveHistogramEqualization)"
        self.value_range = _value_range(value_range, owner)
        if not isinstance(clip_limit, numbers.Real) or isinstance(clip_limit, bool):
            raise TypeError(
                f"{owner}: clip_limit must be a number (a multiple of the mean histogram "
                f"count, e.g. 4.0; 0 turns clipping off). Received: clip_limit={clip_limit!r}"
            )
        self.clip_limit = clip_limit
        self.tile_grid_size = _tile_grid_size(tile_grid_size, owner)

    def call(self, inputs):
        x, unbatched = self._to_batch(inputs)
        y = clahe(x, self.value_range, float(self.clip_limit), self.tile_grid_size)
        return self._from_batch(y.astype(x.dtype), unbatched)

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "clip_limit": self.clip_limit,
            "tile_grid_size": self.tile_grid_size,
        }
