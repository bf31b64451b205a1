"""kerax.visualization against Keras 3's keras.visualization (the oracle): drawn arrays
bit for bit, galleries by their axes, images, titles and legends."""

import ast
import os
import subprocess
import sys

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from kerax import visualization as xv  # noqa: E402

FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)
RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (2, 24, 32, 3)).astype("uint8")
XYXY = np.array([[[1, 2, 20, 15], [5, 12, 30, 22]], [[3, 3, 8, 9], [0, 0, 31, 23]]], "float32")
LABELS = np.array([[0, 1], [-1, 2]])
CONFIDENCES = np.array([[0.5, 0.25], [0.1, 0.9]], "float32")
MAPPING = {0: "cat", 1: "dog"}
MASKS = RNG.integers(-1, 4, (2, 24, 32, 1)).astype("int32")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _boxes(keras, fmt, confidences=True):
    boxes = keras.utils.bounding_boxes.convert_format(XYXY, "xyxy", fmt, height=24, width=32)
    out = {"boxes": np.asarray(boxes), "labels": LABELS}
    if confidences:
        out["confidences"] = CONFIDENCES
    return out


def _figure(fn, *args, **kwargs):
    """Run a plot_* function with show=False; the open figure's axes, shown images,
    titles and legend texts."""
    assert fn(*args, show=False, **kwargs) is None
    fig = plt.gcf()
    axes = fig.axes
    summary = {
        "grid": axes[0].get_subplotspec().get_gridspec().get_geometry(),
        "images": [np.asarray(ax.images[0].get_array()) if ax.images else None for ax in axes],
        "titles": [ax.get_title() for ax in axes],
        "legend": [t.get_text() for legend in fig.legends for t in legend.get_texts()],
        "size": tuple(fig.get_size_inches()),
    }
    plt.close(fig)
    return summary


def _assert_same_figure(a, b):
    assert a["grid"] == b["grid"] and a["titles"] == b["titles"]
    assert a["legend"] == b["legend"] and a["size"] == b["size"]
    assert len(a["images"]) == len(b["images"])
    for x, y in zip(a["images"], b["images"]):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("fmt", FORMATS)
def test_draw_bounding_boxes_matches_keras_for_every_format(keras_oracle, fmt):
    boxes = _boxes(keras_oracle, fmt)
    kwargs = dict(class_mapping=MAPPING, font_scale=0.3, color=(255, 0, 0))
    expected = keras_oracle.visualization.draw_bounding_boxes(IMAGES, boxes, fmt, **kwargs)
    got = xv.draw_bounding_boxes(IMAGES, boxes, fmt, **kwargs)
    assert got.dtype == np.uint8 and got.shape == IMAGES.shape
    np.testing.assert_array_equal(got, expected)
    assert (got != IMAGES).any() and not (IMAGES == 0).all()  # drew, and left input alone


@pytest.mark.parametrize(
    "images",
    [IMAGES / 255.0, IMAGES.astype("float32") * 1.5 - 40, IMAGES[..., :1]],
    ids=["unit_float", "float_out_of_range", "grayscale"],
)
def test_draw_bounding_boxes_value_handling_matches_keras(keras_oracle, images):
    boxes = _boxes(keras_oracle, "xyxy", confidences=False)
    kwargs = dict(class_mapping=MAPPING, line_thickness=1, text_thickness=0)
    expected = keras_oracle.visualization.draw_bounding_boxes(images, boxes, "xyxy", **kwargs)
    np.testing.assert_array_equal(xv.draw_bounding_boxes(images, boxes, "xyxy", **kwargs), expected)


def test_draw_bounding_boxes_channels_first_keeps_layout(keras_oracle):
    # Keras hands channels-first arrays to OpenCV as they are (an OpenCV error); kerax
    # draws in channels-last and returns the input's layout, as Keras documents.
    boxes = _boxes(keras_oracle, "rel_xywh")
    last = keras_oracle.visualization.draw_bounding_boxes(
        IMAGES, boxes, "rel_xywh", class_mapping=MAPPING, font_scale=0.3
    )
    first = xv.draw_bounding_boxes(
        IMAGES.transpose(0, 3, 1, 2),
        boxes,
        "rel_xywh",
        class_mapping=MAPPING,
        font_scale=0.3,
        data_format="channels_first",
    )
    np.testing.assert_array_equal(first, last.transpose(0, 3, 1, 2))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_classes": 4, "ignore_index": 0},
        {"num_classes": 3, "blend": False},
        {
            "num_classes": 3,
            "alpha": 0.3,
            "color_mapping": {0: (1, 2, 3), 1: (200, 9, 9), 2: (5, 5, 250)},
        },
    ],
    ids=["inferred", "ignore0", "no_blend", "color_mapping"],
)
def test_draw_segmentation_masks_matches_keras(keras_oracle, kwargs):
    expected = keras_oracle.visualization.draw_segmentation_masks(IMAGES, MASKS, **kwargs)
    got = xv.draw_segmentation_masks(IMAGES, MASKS, **kwargs)
    assert isinstance(got, np.ndarray)
    assert got.dtype == (np.uint8 if kwargs.get("blend", True) else np.float32)
    np.testing.assert_array_equal(got, np.asarray(expected))
    # 3-D masks (documented by Keras, rejected by its code) give the same result.
    np.testing.assert_array_equal(xv.draw_segmentation_masks(IMAGES, MASKS[..., 0], **kwargs), got)


def test_draw_segmentation_masks_channels_first_matches_keras(keras_oracle):
    images, masks = IMAGES.transpose(0, 3, 1, 2), MASKS.transpose(0, 3, 1, 2)
    kwargs = dict(num_classes=4, data_format="channels_first")
    expected = keras_oracle.visualization.draw_segmentation_masks(images, masks, **kwargs)
    got = xv.draw_segmentation_masks(images, masks, **kwargs)
    assert got.shape == IMAGES.shape  # channels last, as Keras returns it
    np.testing.assert_array_equal(got, np.asarray(expected))


@pytest.mark.parametrize(
    "batch, kwargs",
    [
        (
            4,
            {"y_true": [0, 1, 2, 5], "y_pred": [1, 1, 2, 0], "label_map": {0: "a", 1: "b", 2: "c"}},
        ),
        (3, {}),  # Keras's grid: 2 rows x (3 // 2) columns
        (1, {"y_true": [1], "label_map": {1: "one"}, "scale": 1}),
        (4, {"rows": 1, "value_range": (0, 1)}),
    ],
    ids=["labels", "batch3", "single", "one_row_unit_range"],
)
def test_plot_image_gallery_matches_keras(keras_oracle, batch, kwargs):
    images = np.concatenate([IMAGES, IMAGES[:, ::-1]])[:batch]
    if kwargs.get("value_range") == (0, 1):
        images = images / 255.0
    handles = [matplotlib.patches.Patch(color="red", label="thing")]
    expected = _figure(
        keras_oracle.visualization.plot_image_gallery, images, legend_handles=handles, **kwargs
    )
    got = _figure(xv.plot_image_gallery, images, legend_handles=handles, **kwargs)
    _assert_same_figure(got, expected)
    assert got["legend"] == ["thing"]


def test_plot_image_gallery_channels_first_and_blank_cells():
    # Keras transposes channels-first images twice (an imshow error); kerax once.
    last = _figure(xv.plot_image_gallery, IMAGES)
    first = _figure(
        xv.plot_image_gallery, IMAGES.transpose(0, 3, 1, 2), data_format="channels_first"
    )
    _assert_same_figure(first, last)
    # A grid larger than the batch leaves cells empty (Keras: IndexError).
    got = _figure(xv.plot_image_gallery, IMAGES, rows=2, cols=2)
    assert got["grid"] == (2, 2) and got["images"][2:] == [None, None]


def test_plot_image_gallery_path_writes_png_atomically(tmp_path, monkeypatch):
    path = tmp_path / "gallery.png"
    assert xv.plot_image_gallery(IMAGES, path=path) is None
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plt.get_fignums() == [] and os.listdir(tmp_path) == ["gallery.png"]
    # no extension: matplotlib's default format, its extension added, as savefig does
    xv.plot_image_gallery(IMAGES, path=tmp_path / "bare")
    assert (tmp_path / "bare.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "bare.png").unlink()
    # A failed save leaves the previous file and no temporary file behind.
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _fail)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="disk full"):
        xv.plot_image_gallery(IMAGES, path=str(path))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["gallery.png"]


def _fail(self, f, **kwargs):
    f.write(b"partial")
    raise RuntimeError("disk full")


def test_plot_image_gallery_show(monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.get_fignums()))
    xv.plot_image_gallery(IMAGES)  # show defaults to True without a path
    assert len(shown) == 1 and len(shown[0]) == 1 and plt.get_fignums() == []
    xv.plot_image_gallery(IMAGES, show=False)
    assert len(shown) == 1 and len(plt.get_fignums()) == 1  # left open, not shown


@pytest.mark.parametrize("fmt", ["xyxy", "rel_center_xywh"])
def test_plot_bounding_box_gallery_matches_keras(keras_oracle, fmt):
    boxes = _boxes(keras_oracle, fmt)
    kwargs = dict(
        y_true=boxes,
        y_pred={**boxes, "labels": LABELS[:, ::-1]},
        class_mapping=MAPPING,
        prediction_mapping={1: "pred-dog"},
        font_scale=0.3,
        legend=True,
        rows=1,
        cols=2,
    )
    vis = keras_oracle.visualization
    expected = _figure(vis.plot_bounding_box_gallery, IMAGES, fmt, **kwargs)
    got = _figure(xv.plot_bounding_box_gallery, IMAGES, fmt, **kwargs)
    _assert_same_figure(got, expected)
    assert got["legend"] == ["Ground Truth", "Prediction"]
    first = _figure(
        xv.plot_bounding_box_gallery,
        IMAGES.transpose(0, 3, 1, 2),
        fmt,
        data_format="channels_first",
        **kwargs,
    )
    _assert_same_figure(first, got)


def test_plot_bounding_box_gallery_unit_range_is_drawn_once(keras_oracle):
    # Keras scales (0, 1) images to [0, 255] to draw, then again to plot (overflow).
    boxes = _boxes(keras_oracle, "xyxy")
    unit = _figure(
        xv.plot_bounding_box_gallery, IMAGES / 255.0, "xyxy", y_true=boxes, value_range=(0, 1)
    )
    pixels = _figure(xv.plot_bounding_box_gallery, IMAGES, "xyxy", y_true=boxes)
    for a, b in zip(unit["images"], pixels["images"]):
        assert np.abs(a.astype(int) - b).max() <= 1  # float32 rounding of x / 255 * 255


def test_plot_segmentation_mask_gallery_matches_keras(keras_oracle):
    kwargs = dict(y_true=MASKS, y_pred=MASKS[:, ::-1], alpha=0.5)
    vis = keras_oracle.visualization
    expected = _figure(vis.plot_segmentation_mask_gallery, IMAGES, 4, **kwargs)
    got = _figure(xv.plot_segmentation_mask_gallery, IMAGES, 4, **kwargs)
    _assert_same_figure(got, expected)
    assert got["grid"] == (2, 3)
    first = _figure(
        xv.plot_segmentation_mask_gallery,
        IMAGES.transpose(0, 3, 1, 2),
        4,
        y_true=MASKS.transpose(0, 3, 1, 2),
        y_pred=MASKS[:, ::-1].transpose(0, 3, 1, 2),
        alpha=0.5,
        data_format="channels_first",
    )
    _assert_same_figure(first, got)
    # (0, 1) images are drawn on in [0, 255] once (Keras blends 0-255 colours into them).
    unit = _figure(
        xv.plot_segmentation_mask_gallery, IMAGES / 255.0, 4, value_range=(0, 1), y_true=MASKS
    )
    pixels = _figure(xv.plot_segmentation_mask_gallery, IMAGES, 4, y_true=MASKS)
    assert unit["grid"] == (2, 2)
    for a, b in zip(unit["images"], pixels["images"]):
        assert np.abs(a.astype(int) - b).max() <= 1


def _raise_both(keras, name, error, *args, match=None, **kwargs):
    """The same exception type from Keras and from kerax."""
    with pytest.raises(error):
        getattr(keras.visualization, name)(*args, **kwargs)
    with pytest.raises(error, match=match):
        getattr(xv, name)(*args, **kwargs)


def test_errors_match_keras(keras_oracle):
    k = keras_oracle
    boxes = _boxes(k, "xyxy")
    _raise_both(k, "draw_bounding_boxes", ValueError, IMAGES[0], boxes, "xyxy", match="4D")
    _raise_both(k, "draw_bounding_boxes", TypeError, IMAGES, [XYXY], "xyxy", match="dict")
    _raise_both(
        k, "draw_bounding_boxes", ValueError, IMAGES, {"boxes": XYXY}, "xyxy", match="labels"
    )
    _raise_both(k, "draw_bounding_boxes", ValueError, IMAGES, boxes, "xyzw", match="xyzw")
    _raise_both(k, "draw_segmentation_masks", ValueError, IMAGES[0], MASKS[0], match="4D")
    _raise_both(k, "draw_segmentation_masks", TypeError, IMAGES, MASKS * 1.0, match="integer")
    _raise_both(k, "plot_image_gallery", ValueError, IMAGES[0], show=False, match="4D")
    _raise_both(k, "plot_image_gallery", ValueError, IMAGES, path="x.png", show=True, match="path")
    _raise_both(k, "plot_image_gallery", ValueError, IMAGES, y_true=[0, 1], match="label_map")
    _raise_both(k, "plot_bounding_box_gallery", ValueError, IMAGES[0], "xyxy", match="4D")
    _raise_both(
        k,
        "plot_bounding_box_gallery",
        ValueError,
        IMAGES,
        "xyxy",
        legend=True,
        legend_handles=[1],
        match="legend",
    )
    _raise_both(k, "plot_segmentation_mask_gallery", ValueError, IMAGES[0], 3, match="4D")
    _raise_both(
        k,
        "draw_segmentation_masks",
        KeyError,
        IMAGES,
        MASKS,
        num_classes=3,
        color_mapping={0: (1, 1, 1)},
    )


def test_mismatched_batches_raise_value_error():
    # Keras fails inside OpenCV or NumPy indexing here; kerax says what is wrong.
    boxes = {"boxes": XYXY[:1], "labels": LABELS[:1]}
    with pytest.raises(ValueError, match="one entry per image"):
        xv.draw_bounding_boxes(IMAGES, boxes, "xyxy")
    with pytest.raises(ValueError, match=r"\(batch, num_boxes\)"):
        xv.draw_bounding_boxes(IMAGES, {"boxes": XYXY, "labels": LABELS[:, :1]}, "xyxy")
    with pytest.raises(ValueError, match="masks must have shape"):
        xv.draw_segmentation_masks(IMAGES, MASKS[:1])
    with pytest.raises(ValueError, match="masks must have shape"):
        xv.plot_segmentation_mask_gallery(IMAGES, 3, y_true=MASKS[:, :5], show=False)
    with pytest.raises(ValueError, match="data_format"):
        xv.draw_segmentation_masks(IMAGES, MASKS, data_format="channels_middle")


@pytest.mark.parametrize(
    "module, pip_name, call",
    [
        ("cv2", "opencv-python-headless", lambda: xv.draw_bounding_boxes(IMAGES, {}, "xyxy")),
        ("matplotlib.pyplot", "matplotlib", lambda: xv.plot_image_gallery(IMAGES)),
        ("matplotlib.patches", "matplotlib", lambda: xv.plot_bounding_box_gallery(IMAGES, "xyxy")),
    ],
)
def test_missing_dependency_names_the_package(monkeypatch, module, pip_name, call):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=f"pip install {pip_name}`") as info:
        call()
    assert 'pip install "kerax[visualization]"' in str(info.value)


def test_visualization_modules_import_cv2_and_matplotlib_only_inside_functions():
    package = os.path.dirname(xv.__file__)
    for name in os.listdir(package):
        if name.endswith(".py"):
            with open(os.path.join(package, name)) as f:
                tree = ast.parse(f.read())
            top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
            modules = [a.name for n in top for a in n.names] + [
                n.module for n in top if isinstance(n, ast.ImportFrom)
            ]
            assert not [m for m in modules if m and m.split(".")[0] in ("cv2", "matplotlib")]


@pytest.mark.slow  # a fresh interpreter; the module check above and test_import_time cover it
def test_import_kerax_and_visualization_load_neither_cv2_nor_matplotlib():
    code = (
        "import sys, kerax\nkerax.visualization.draw_bounding_boxes\n"
        "kerax.visualization.plot_image_gallery\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'cv2', 'matplotlib'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert "visualization" in dir(__import__("kerax"))
