"""kerax.utils.bounding_boxes against Keras 3's keras.utils.bounding_boxes on small boxes."""

import jax
import numpy as np
import pytest

from kerax.utils import bounding_boxes as bb
from kerax.utils.bounding_boxes import _formats
from kerax.utils.bounding_boxes._formats import SUPPORTED_FORMATS as FORMATS

H, W = 40, 60


def _xyxy(rng, shape):
    """Valid boxes (x1 < x2, y1 < y2) inside and a little outside a 60x40 image."""
    x = np.sort(rng.uniform(-5, W + 5, (*shape, 2)), axis=-1)
    y = np.sort(rng.uniform(-5, H + 5, (*shape, 2)), axis=-1)
    return np.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], -1).astype("float32")


def _close(ours, theirs, atol=1e-5):
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=atol)


def _match(kb, name, *args, atol=1e-5, **kwargs):
    """kerax's function called eagerly against Keras's under jax.jit (one compile
    instead of one per eager Keras op, which keeps this file fast)."""
    ours = getattr(bb, name)(*args, **kwargs)
    traced = [i for i, arg in enumerate(args) if not isinstance(arg, (str, type(None)))]

    def theirs_fn(*values):
        full = list(args)
        for i, value in zip(traced, values):
            full[i] = value
        return getattr(kb, name)(*full, **kwargs)

    theirs = jax.jit(theirs_fn)(*[args[i] for i in traced])
    jax.tree.map(lambda x, y: _close(x, y, atol), ours, theirs)
    return ours


@pytest.mark.parametrize("source", FORMATS)
def test_convert_format_matches_keras(keras_oracle, source):
    kb = keras_oracle.utils.bounding_boxes
    xyxy = _xyxy(np.random.default_rng(FORMATS.index(source)), (2, 3))

    @jax.jit  # one compile for every conversion of both libraries
    def both(xyxy):
        boxes = kb.convert_format(xyxy, "xyxy", source, height=H, width=W)
        ours = [bb.convert_format(xyxy, "xyxy", source, height=H, width=W)]
        theirs = [boxes]
        for target in FORMATS:
            ours.append(bb.convert_format(boxes, source, target, H, W))
            theirs.append(kb.convert_format(boxes, source, target, H, W))
        return ours, theirs

    ours, theirs = both(xyxy)
    for target, x, y in zip(("xyxy", *FORMATS), ours, theirs):
        assert x.dtype == np.float32, target
        _close(x, y)
    boxes = theirs[0]
    back = bb.convert_format(ours[-1], "REL_CENTER_XYWH", source, height=H, width=W)
    _close(back, boxes, atol=1e-4)  # case-insensitive, and a round trip


def test_convert_format_dicts_and_errors():
    boxes, labels = np.array([[10, 20, 30, 40]]), np.array([7])
    data = {"boxes": boxes, "labels": labels}
    out = bb.convert_format(data, "xyxy", "center_yxhw")
    np.testing.assert_array_equal(out["boxes"], [[30.0, 20.0, 20.0, 20.0]])
    assert out["labels"] is labels and data["boxes"] is boxes
    before = _formats._convert._cache_size()
    for size in (10, 30):  # new image sizes reuse the compiled conversion
        out = bb.convert_format(boxes, "xyxy", "rel_xyxy", height=size, width=2 * size)
    assert _formats._convert._cache_size() == before + 1
    np.testing.assert_allclose(out, [[10 / 60, 20 / 30, 30 / 60, 40 / 30]], rtol=1e-6)
    with pytest.raises(ValueError, match="last axis of 4"):
        bb.convert_format(np.zeros((2, 3)), "xyxy", "yxyx")
    with pytest.raises(ValueError, match="Received: target='xyxz'"):
        bb.convert_format(np.zeros((2, 4)), "xyxy", "xyxz")
    with pytest.raises(ValueError, match="`height` and `width`"):
        bb.convert_format(np.zeros((2, 4)), "rel_xyxy", "rel_xyxy", height=4)


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy"])
def test_clip_to_image_size_matches_keras(keras_oracle, fmt):
    kb = keras_oracle.utils.bounding_boxes
    boxes = _xyxy(np.random.default_rng(1), (2, 4))
    boxes[0, 0] = [-3, -3, -1, 10]  # clipped to zero width: label -1
    if fmt == "rel_xyxy":
        boxes = boxes / np.array([W, H, W, H], "float32")
    data = {"boxes": boxes, "labels": np.array([[1, 2, 3, 4], [5, 6, 7, 8]])}
    ours = _match(kb, "clip_to_image_size", data, H, W, bounding_box_format=fmt)
    assert ours["labels"][0, 0] == -1 and ours["labels"][1, 0] == 5
    with pytest.raises(NotImplementedError, match="'yxyx'"):
        bb.clip_to_image_size(data, H, W, bounding_box_format="yxyx")
    with pytest.raises(ValueError, match="`height` and `width`"):
        bb.clip_to_image_size(data)
    with pytest.raises(TypeError, match="dict with a 'boxes' entry"):
        bb.clip_to_image_size(boxes, H, W)


def test_iou_ciou_and_deltas_match_keras(keras_oracle):
    kb = keras_oracle.utils.bounding_boxes
    rng = np.random.default_rng(2)
    a, b, batched = _xyxy(rng, (3,)), _xyxy(rng, (4,)), _xyxy(rng, (2, 4))
    a[0] = b[1]  # one exact match: IoU 1
    batched[1, 2] = -1.0  # a padding box, masked
    shape = (H, W, 3)
    for x, y in [(a, b), (a, batched), (batched, b)]:
        iou = _match(kb, "compute_iou", x, y, "xywh")
        assert iou.shape == (2, x.shape[-2], y.shape[-2])[3 - max(x.ndim, y.ndim) :]
    assert np.isclose(bb.compute_iou(a, b, "xyxy")[0, 1], 1.0)
    rel = a / np.array([W, H, W, H], "float32")
    _match(kb, "compute_iou", rel, b, "rel_xyxy", image_shape=shape)
    masked = _match(kb, "compute_iou", batched, batched, "yxyx", use_masking=True, mask_val=-2)
    assert (masked[1, 2] == -2).all() and (masked[1, :, 2] == -2).all()
    _match(kb, "compute_ciou", a, b[:3], "xyxy")
    _match(kb, "compute_ciou", batched, b, "center_xywh")

    variance = [0.1, 0.1, 0.2, 0.2]
    for kwargs in [{}, {"variance": variance, "encoding_format": "center_xywh"}]:
        deltas = _match(kb, "encode_box_to_deltas", b, batched, "xyxy", "xywh", **kwargs)
    decode = {"variance": variance, "encoded_format": "center_xywh", "image_shape": shape}
    levels = _match(kb, "decode_deltas_to_boxes", {3: b}, {3: deltas}, "xyxy", "rel_xywh", **decode)
    _match(kb, "decode_deltas_to_boxes", b, deltas, "xyxy", "center_yxhw")
    back = bb.convert_format(levels[3][0], "rel_xywh", "xywh", height=H, width=W)
    _close(back, batched[0], atol=1e-3)  # decoding inverts encoding

    with pytest.raises(ValueError, match="relative format"):
        bb.compute_iou(rel, rel, "rel_xyxy")
    with pytest.raises(ValueError, match="does not take relative"):
        bb.compute_ciou(rel, rel, "rel_xyxy", image_shape=shape)
    with pytest.raises(ValueError, match="shape"):
        bb.compute_iou(a[0], b, "xyxy")
    with pytest.raises(ValueError, match="4 factors"):
        bb.encode_box_to_deltas(b, b, "xyxy", "xyxy", variance=[1.0, 1.0])
    with pytest.raises(ValueError, match="'center_xywh' or 'center_yxhw'"):
        bb.decode_deltas_to_boxes(b, b, "xyxy", "xyxy", encoded_format="xyxy")


def test_affine_crop_pad_match_keras(keras_oracle):
    kb = keras_oracle.utils.bounding_boxes
    rng = np.random.default_rng(3)
    boxes = _xyxy(rng, (2, 3))
    params = [
        rng.uniform(lo, hi, 2).astype("float32")
        for lo, hi in [(-30, 30), (-0.2, 0.2), (-0.2, 0.2), (0.8, 1.2), (-10, 10), (-10, 10)]
    ]
    _match(kb, "affine_transform", boxes, *params, H, W, center_x=0.4, atol=1e-3)
    _match(kb, "crop", boxes, 5, 7, 20, 30)
    _match(kb, "crop", boxes, 5, 7, None, None)
    _match(kb, "pad", boxes, 5, 7)
    for fn, args in [(bb.crop, (0, 0, H, W)), (bb.pad, (0, 0))]:
        with pytest.raises(NotImplementedError, match="'xyxy' only"):
            fn(boxes, *args, bounding_box_format="yxyx")
    with pytest.raises(ValueError, match=r"\(batch, N, 4\)"):
        bb.affine_transform(boxes[0], *params, H, W)


def test_exported_like_keras(keras_oracle):
    import kerax

    assert "bounding_boxes" in dir(kerax.utils)
    public = {n for n in dir(keras_oracle.utils.bounding_boxes) if not n.startswith("_")}
    assert public == set(bb.__all__)
