"""``plot_image_gallery`` and the box and mask galleries built on it (matplotlib)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from kerax.layers.preprocessing._color_ops import rescale
from kerax.layers.preprocessing._image import standardize_data_format
from kerax.saving._io import atomic_write
from kerax.visualization import _common
from kerax.visualization._draw import (
    _masks_channels_last,
    draw_bounding_boxes,
    draw_segmentation_masks,
)

_PIXELS = (0, 255)


def _to_pixels(images: np.ndarray, value_range: Sequence[float]) -> np.ndarray:
    """``images`` mapped from ``value_range`` to ``[0, 255]`` (float32, as Keras computes
    it); unchanged when the range already is ``(0, 255)``."""
    if tuple(value_range) == _PIXELS:
        return images
    return np.asarray(rescale(jnp.asarray(images, jnp.float32), tuple(value_range), _PIXELS))


def plot_image_gallery(
    images: ArrayLike,
    y_true: ArrayLike | None = None,
    y_pred: ArrayLike | None = None,
    label_map: Mapping[int, str] | None = None,
    rows: int | None = None,
    cols: int | None = None,
    value_range: Sequence[float] = (0, 255),
    scale: float = 2,
    path: str | os.PathLike | None = None,
    show: bool | None = None,
    transparent: bool = True,
    dpi: int = 60,
    legend_handles: list | None = None,
    data_format: str | None = None,
) -> None:
    """Plot a batch of images as a ``rows`` x ``cols`` grid, titled with their labels.

    Args:
        images: a batch ``(batch, height, width, channels)`` (or channels first).
        y_true: class ids, one per image, shown as ``"Label: <name>"``.
        y_pred: predicted class ids, shown as ``"Pred: <name>"``.
        label_map: class id to name; required with ``y_true`` or ``y_pred``.
        rows: default ``ceil(sqrt(batch))``.
        cols: default ``batch // rows`` (as in Keras: a batch that does not fill whole
            rows shows its first ``rows * cols`` images). Cells past the batch stay empty.
        value_range: the ``(low, high)`` of the pixel values, mapped to ``[0, 255]``.
        scale: inches per cell.
        path: write the figure there (the format comes from the extension; written
            atomically) and close it, instead of showing it.
        show: ``plt.show()`` then close the figure; default: when ``path`` is None.
            With ``show=False`` and no ``path`` the figure stays open (``plt.gcf()``).
        transparent: save with a transparent background.
        dpi: the resolution of the saved image.
        legend_handles: matplotlib artists for a figure legend (lower centre).
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            ``kerax.config.image_data_format()``.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: both ``path`` and ``show=True``; labels without ``label_map``;
            ``images`` not 4-D; a grid with no cell.
    """
    owner = "plot_image_gallery"
    plt = _common.require("matplotlib.pyplot", "matplotlib", owner)
    if path is not None and show:
        raise ValueError(
            f"`{owner}()` expects either `path` to be set, or `show` to be true, not both. "
            f"Received: path={path!r}, show={show!r}"
        )
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError(
            f"`{owner}()`: if `y_true` or `y_pred` are provided, a `label_map` (class id "
            "to name) must also be provided."
        )
    show = path is None if show is None else show
    data_format = standardize_data_format(data_format, owner)
    batch = _common.check_images(images, owner)[0]
    rows = rows or math.ceil(math.sqrt(batch))
    cols = cols or batch // rows
    if rows < 1 or cols < 1:
        raise ValueError(
            f"`{owner}()`: the grid needs at least one row and one column. Received: "
            f"rows={rows}, cols={cols} for a batch of {batch} images."
        )
    images = _common.to_channels_last(np.asarray(images)[: rows * cols], data_format)
    images = np.clip(_to_pixels(images, value_range), 0, 255).astype(np.uint8)
    y_true = None if y_true is None else np.asarray(y_true)
    y_pred = None if y_pred is None else np.asarray(y_pred)

    fig, axes = plt.subplots(
        nrows=rows,
        ncols=cols,
        figsize=(cols * scale, rows * scale),
        frameon=False,
        layout="tight",
        squeeze=False,
        sharex="row",
        sharey="col",
    )
    fig.subplots_adjust(wspace=0, hspace=0)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        ax.imshow(images[index])
        ax.margins(x=0, y=0)
        title = [
            f"{prefix}: {label_map.get(labels[index], 'Unknown')}"
            for prefix, labels in (("Label", y_true), ("Pred", y_pred))
            if labels is not None and index < len(labels)
        ]
        if title:
            ax.set_title("  ".join(title), fontsize=8)

    if path is not None:
        path = os.fspath(path)
        extension = os.path.splitext(path)[1][1:]
        if not extension:  # as matplotlib's savefig: the default format's extension added
            extension = plt.rcParams["savefig.format"]
            path = f"{path}.{extension}"
        with atomic_write(path, what="gallery image") as f:
            fig.savefig(
                f,
                format=extension,
                pad_inches=0,
                bbox_inches="tight",
                transparent=transparent,
                dpi=dpi,
            )
        plt.close(fig)
    elif show:
        plt.show()
        plt.close(fig)


def plot_bounding_box_gallery(
    images: ArrayLike,
    bounding_box_format: str,
    y_true: Mapping[str, Any] | None = None,
    y_pred: Mapping[str, Any] | None = None,
    value_range: Sequence[float] = (0, 255),
    true_color: Sequence[int] = (0, 188, 212),
    pred_color: Sequence[int] = (255, 235, 59),
    line_thickness: int = 2,
    font_scale: float = 1.0,
    text_thickness: int | None = None,
    class_mapping: Mapping[int, str] | None = None,
    ground_truth_mapping: Mapping[int, str] | None = None,
    prediction_mapping: Mapping[int, str] | None = None,
    legend: bool = False,
    legend_handles: list | None = None,
    rows: int | None = None,
    cols: int | None = None,
    data_format: str | None = None,
    **kwargs: Any,
) -> None:
    """Plot a gallery of images with their true and predicted boxes drawn on them.

    Args:
        images: a batch ``(batch, height, width, channels)`` (or channels first).
        bounding_box_format: the boxes' format (see ``draw_bounding_boxes``).
        y_true: ground-truth boxes, a dict as ``draw_bounding_boxes`` takes.
        y_pred: predicted boxes, the same structure.
        value_range: the ``(low, high)`` of the pixel values.
        true_color: the RGB colour of the true boxes.
        pred_color: the RGB colour of the predicted boxes.
        line_thickness: the box line width in pixels.
        font_scale: the scale of the label font.
        text_thickness: the label stroke width; default ``line_thickness``.
        class_mapping: class id to name, for both kinds of box.
        ground_truth_mapping: class id to name for the true boxes (overrides
            ``class_mapping``).
        prediction_mapping: class id to name for the predicted boxes (overrides
            ``class_mapping``).
        legend: add a "Ground Truth" / "Prediction" colour legend.
        legend_handles: matplotlib artists for a custom legend (not with ``legend``).
        rows: the grid's rows (see ``plot_image_gallery``).
        cols: the grid's columns.
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            ``kerax.config.image_data_format()``.
        **kwargs: passed to ``plot_image_gallery`` (``path``, ``show``, ``scale``, ...).

    Raises:
        ImportError: matplotlib (or, to draw boxes, OpenCV) is not installed.
        ValueError: ``images`` is not 4-D, or both ``legend`` and ``legend_handles``.
    """
    owner = "plot_bounding_box_gallery"
    patches = _common.require("matplotlib.patches", "matplotlib", owner)
    data_format = standardize_data_format(data_format, owner)
    _common.check_images(images, owner)
    if legend and legend_handles:
        raise ValueError(
            f"Only pass `legend` OR `legend_handles` to `{owner}()`. Received: legend=True "
            f"and legend_handles={legend_handles!r}"
        )
    pixels = _common.to_channels_last(images, data_format)
    if y_true is not None or y_pred is not None:
        if tuple(value_range) != _PIXELS:
            # Drawing works in [0, 255]; Keras maps to it only after drawing, which
            # scales images in another range (such as (0, 1)) twice.
            pixels = np.clip(_to_pixels(pixels, value_range), 0, 255).astype(np.uint8)
            value_range = _PIXELS
        for boxes, color, mapping in (
            (y_true, true_color, ground_truth_mapping or class_mapping),
            (y_pred, pred_color, prediction_mapping or class_mapping),
        ):
            if boxes is not None:
                pixels = draw_bounding_boxes(
                    pixels,
                    boxes,
                    bounding_box_format,
                    class_mapping=mapping,
                    color=color,
                    line_thickness=line_thickness,
                    text_thickness=text_thickness,
                    font_scale=font_scale,
                    data_format="channels_last",
                )
    if legend:
        legend_handles = [
            patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
            patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction"),
        ]
    return plot_image_gallery(
        pixels,
        value_range=value_range,
        legend_handles=legend_handles,
        rows=rows,
        cols=cols,
        data_format="channels_last",
        **kwargs,
    )


def plot_segmentation_mask_gallery(
    images: ArrayLike,
    num_classes: int | None,
    value_range: Sequence[float] = (0, 255),
    y_true: ArrayLike | None = None,
    y_pred: ArrayLike | None = None,
    color_mapping: Mapping[int, Sequence[int]] | None = None,
    blend: bool = True,
    alpha: float = 0.8,
    ignore_index: int = -1,
    data_format: str | None = None,
    **kwargs: Any,
) -> None:
    """Plot each image in a row, followed by its true and predicted masks drawn over it.

    Args:
        images: a batch ``(batch, height, width, channels)`` (or channels first).
        num_classes: the number of classes (see ``draw_segmentation_masks``).
        value_range: the ``(low, high)`` of the pixel values.
        y_true: true masks ``(batch, height, width)`` or with a channel axis of 1.
        y_pred: predicted masks, the same shape.
        color_mapping: class id to RGB colour; default a fixed palette.
        blend: blend the colours over the images with ``alpha``.
        alpha: the weight of the colour where blended.
        ignore_index: the class id left undrawn.
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            ``kerax.config.image_data_format()``.
        **kwargs: passed to ``plot_image_gallery`` (``path``, ``show``, ``scale``, ...).

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: ``images`` is not 4-D, or a mask's shape does not match it.
    """
    owner = "plot_segmentation_mask_gallery"
    _common.require("matplotlib.pyplot", "matplotlib", owner)
    data_format = standardize_data_format(data_format, owner)
    _common.check_images(images, owner)
    # Masks are drawn in [0, 255]; Keras blends them in `value_range` and then rescales
    # the result again, which garbles any other range.
    pixels = _to_pixels(_common.to_channels_last(images, data_format), value_range)
    drawn = []
    for masks in (y_true, y_pred):
        if masks is not None:
            masks = _masks_channels_last(np.asarray(masks), data_format, pixels.shape, owner)
            drawn.append(
                draw_segmentation_masks(
                    pixels,
                    masks.astype(np.int32),
                    num_classes=num_classes,
                    color_mapping=color_mapping,
                    alpha=alpha,
                    blend=blend,
                    ignore_index=ignore_index,
                    data_format="channels_last",
                )
            )
    gallery = np.stack([image for row in zip(pixels, *drawn) for image in row])
    return plot_image_gallery(
        gallery,
        value_range=_PIXELS,
        rows=len(pixels),
        cols=1 + len(drawn),
        data_format="channels_last",
        **kwargs,
    )
