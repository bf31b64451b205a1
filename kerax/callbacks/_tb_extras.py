"""TensorBoard pieces tensorboardX has no call for: the Keras model graph, weight images,
and the embedding projector's files."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np


def writer_class():
    """tensorboardX's ``SummaryWriter``, or an ImportError that says how to get it."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError as e:
        raise ImportError(
            "The TensorBoard callback writes event files with tensorboardX (no TensorFlow "
            "needed), which is not installed. Install it with `pip install tensorboardX`."
        ) from e
    return SummaryWriter


def keras_graph_summary(json_config: str):
    """A ``Summary`` holding the model config as TensorBoard's Keras conceptual graph.

    The same record Keras writes (tag ``keras``, plugin ``graph_keras_model``), which
    the Graphs dashboard draws.
    """
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboardX.proto.tensor_pb2 import TensorProto
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

    metadata = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(plugin_name="graph_keras_model", content=b"1")
    )
    tensor = TensorProto(
        dtype="DT_STRING",
        string_val=[json_config.encode("utf-8")],
        tensor_shape=TensorShapeProto(),
    )
    return Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])


def weight_image(weight: np.ndarray) -> np.ndarray | None:
    """A weight as an ``(N, H, W, 1)`` image batch in [0, 1], or None if it has no 2-D view.

    Laid out as Keras does (vectors as a row, matrices wide, 3-D kernels per output
    channel); values are rescaled to [0, 1] because image summaries clip to that range.
    """
    w = np.squeeze(np.asarray(weight, np.float32))
    if w.ndim == 1:
        w = w.reshape(1, 1, w.shape[0], 1)
    elif w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.ndim == 3:
        w = np.transpose(w, (2, 0, 1))[..., None]  # channels-last: one image per channel
    else:
        return None
    lo, hi = float(w.min()), float(w.max())
    return (w - lo) / (hi - lo) if hi > lo else np.zeros_like(w)


def _png_gray(pixels: np.ndarray) -> bytes:
    """A 2-D uint8 array as an 8-bit grayscale PNG (so no imaging library is needed)."""
    height, width = pixels.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)  # filter type 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def image_summary(tag: str, images: np.ndarray, max_outputs: int = 3):
    """A ``Summary`` of up to ``max_outputs`` grayscale images from ``(N, H, W, 1)`` in [0, 1].

    Tags are ``tag`` for one image and ``tag/0``, ``tag/1``, ... for several.
    """
    from tensorboardX.proto.summary_pb2 import Summary

    values = []
    count = min(len(images), max_outputs)
    for i in range(count):
        pixels = np.clip(np.rint(images[i, :, :, 0] * 255.0), 0, 255).astype(np.uint8)
        image = Summary.Image(
            height=pixels.shape[0],
            width=pixels.shape[1],
            colorspace=1,
            encoded_image_string=_png_gray(pixels),
        )
        values.append(Summary.Value(tag=tag if count == 1 else f"{tag}/{i}", image=image))
    return Summary(value=values)


def write_embeddings(run_dir: str, epoch: int, tables: dict, metadata: dict) -> None:
    """Write embedding tables and ``projector_config.pbtxt`` for the Projector dashboard.

    Args:
        run_dir: the run directory (``log_dir/train``).
        epoch: the epoch, used in the tensors' directory names.
        tables: ``{layer_name: (vocab, dim) array}``.
        metadata: ``{layer_name: path to a metadata .tsv}`` (optional per layer).
    """
    entries = []
    for name, table in tables.items():
        sub = os.path.join("embeddings", f"{epoch:05d}", name)
        os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
        np.savetxt(os.path.join(run_dir, sub, "tensors.tsv"), np.asarray(table), delimiter="\t")
        entry = [f'  tensor_name: "{name}:{epoch:05d}"', f'  tensor_path: "{sub}/tensors.tsv"']
        if name in metadata:
            entry.append(f'  metadata_path: "{metadata[name]}"')
        entries.append("embeddings {\n" + "\n".join(entry) + "\n}\n")
    with open(os.path.join(run_dir, "projector_config.pbtxt"), "w") as f:
        f.write("".join(entries))
