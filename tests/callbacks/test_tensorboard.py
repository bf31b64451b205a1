"""TensorBoard: event files read back with an independent TFRecord + CRC32C reader."""

import json
import os
import struct
import sys
import types
import zlib

import numpy as np
import pytest
from cb_helpers import FakeModel, binary_data, tiny_model

import kerax as keras


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def _masked_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_run(run_dir):
    """Every Event in a run directory, checking the TFRecord framing and both CRCs."""
    from tensorboardX.proto.event_pb2 import Event

    events = []
    names = sorted(n for n in os.listdir(run_dir) if n.startswith("events.out.tfevents."))
    assert names, f"no event file in {run_dir}"
    for name in names:
        with open(os.path.join(run_dir, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos < len(data):
            header = data[pos : pos + 8]
            (length,) = struct.unpack("<Q", header)
            assert struct.unpack("<I", data[pos + 8 : pos + 12])[0] == _masked_crc32c(header)
            body = data[pos + 12 : pos + 12 + length]
            footer = data[pos + 12 + length : pos + 16 + length]
            assert struct.unpack("<I", footer)[0] == _masked_crc32c(body)
            events.append(Event.FromString(body))
            pos += 16 + length
    return events


def summaries(run_dir):
    """``{tag: [(step, Summary.Value), ...]}`` for a run."""
    out = {}
    for event in read_run(run_dir):
        if event.HasField("summary"):
            for value in event.summary.value:
                out.setdefault(value.tag, []).append((event.step, value))
    return out


def scalars(run_dir):
    return {
        tag: [(step, v.simple_value) for step, v in values]
        for tag, values in summaries(run_dir).items()
        if values[0][1].HasField("simple_value")
    }


def png_gray_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit grayscale, unfiltered PNG (what the callback writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(
            kind + body
        )
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, color) == (8, 0)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, width + 1)
    assert not rows[:, 0].any()  # filter type 0 on every row
    return rows[:, 1:]


def test_missing_tensorboardx_is_a_clear_import_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        keras.callbacks.TensorBoard(str(tmp_path))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"update_freq": 0}, "update_freq must be"),
        ({"update_freq": "step"}, "update_freq must be"),
        ({"histogram_freq": -1}, "histogram_freq must be"),
        ({"profile_batch": (3, 2)}, "profile_batch must be"),
        ({"profile_batch": "a,b"}, "profile_batch must be"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, match):
    pytest.importorskip("tensorboardX")
    with pytest.raises(ValueError, match=match):
        keras.callbacks.TensorBoard(str(tmp_path), **kwargs)


def test_real_fit_writes_keras_layout_scalars_histograms_images_summary_and_profile(tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = binary_data()  # 36 training rows after the split: 3 batches of 12
    model = tiny_model()
    board = keras.callbacks.TensorBoard(
        str(tmp_path),
        histogram_freq=1,
        write_images=True,
        update_freq="batch",
        profile_batch=(2, 3),
    )
    history = model.fit(
        x, y, epochs=2, batch_size=12, validation_split=0.25, callbacks=[board], verbose=0
    ).history
    train = scalars(tmp_path / "train")
    val = scalars(tmp_path / "validation")
    for name in ("loss", "accuracy"):
        assert [s for s, _ in train[f"epoch_{name}"]] == [0, 1]
        np.testing.assert_allclose([v for _, v in train[f"epoch_{name}"]], history[name], rtol=1e-6)
        np.testing.assert_allclose(
            [v for _, v in val[f"epoch_{name}"]], history[f"val_{name}"], rtol=1e-6
        )
    assert train["epoch_learning_rate"] == [(0, pytest.approx(0.1)), (1, pytest.approx(0.1))]
    assert [s for s, _ in train["batch_loss"]] == [1, 2, 3, 4, 5, 6]
    assert train["batch_loss"][2][1] == pytest.approx(history["loss"][0], rel=1e-6)
    assert not any(tag.startswith("batch_") for tag in val)

    written = summaries(tmp_path / "train")
    for weight in model.weights:
        histos = written[f"{weight.path}/histogram"]
        assert [s for s, _ in histos] == [0, 1]
        histo = histos[-1][1].histo
        final = np.asarray(weight.value)
        assert histo.num == final.size and histo.min == pytest.approx(final.min())
        if final.size == 1:  # a scalar has no image view (as in Keras)
            assert f"{weight.path}/image" not in written
            continue
        image = written[f"{weight.path}/image"][-1][1].image
        pixels = png_gray_pixels(image.encoded_image_string)
        assert pixels.shape == (image.height, image.width) and pixels.size == final.size
        # Keras's layout (matrices wide), min-max scaled to 0..255.
        wide = final.reshape(1, -1) if final.ndim == 1 else final
        wide = wide.T if wide.shape[0] > wide.shape[1] else wide
        want = np.rint((wide - wide.min()) / (wide.max() - wide.min()) * 255)
        np.testing.assert_array_equal(pixels, want)
    text = written["model_summary/text_summary"][0][1].tensor.string_val[0].decode()
    assert model.name in text and "Total params" in text

    profiles = tmp_path / "train" / "plugins" / "profile"
    assert any(name.endswith(".xplane.pb") for _, _, files in os.walk(profiles) for name in files)


def _scripted_board(tmp_path, **kwargs):
    board = keras.callbacks.TensorBoard(str(tmp_path), write_graph=False, **kwargs)
    board.set_model(FakeModel(learning_rate=0.5))
    return board


def test_batch_scalars_every_n_batches_at_dispatch_boundaries(tmp_path):
    pytest.importorskip("tensorboardX")
    board = _scripted_board(tmp_path, update_freq=2)
    board.on_train_begin()
    for epoch in range(2):
        board.on_epoch_begin(epoch)
        for batch in (1, 3, 4):  # dispatches of 2, 2 and 1 steps: 5 batches per epoch
            board.on_train_batch_end(batch, {"loss": float(10 * epoch + batch)})
        board.on_epoch_end(epoch, {"loss": 1.0})
    board.on_train_end()
    # Global batches 2, 4, 5 | 7, 9, 10: written when a multiple of 2 was passed.
    assert scalars(tmp_path / "train")["batch_loss"] == [(2, 1), (4, 3), (7, 11), (9, 13), (10, 14)]


def test_each_fit_gets_its_own_event_file(tmp_path):
    pytest.importorskip("tensorboardX")
    board = _scripted_board(tmp_path)
    for run in range(2):  # two fits within the same second must not overwrite each other
        board.on_train_begin()
        board.on_epoch_begin(0)
        board.on_epoch_end(0, {"loss": float(run), "val_loss": 2.0})
        board.on_train_end()
    assert len(os.listdir(tmp_path / "train")) == 2
    assert [v for _, v in scalars(tmp_path / "train")["epoch_loss"]] == [0.0, 1.0]


def test_evaluation_results_go_to_validation_against_iterations(tmp_path):
    pytest.importorskip("tensorboardX")
    board = _scripted_board(tmp_path)
    board.model.optimizer.iterations = 30
    board.on_test_end({"loss": 0.25, "accuracy": 0.75})
    board.on_train_end()
    assert scalars(tmp_path / "validation") == {
        "evaluation_loss_vs_iterations": [(30, 0.25)],
        "evaluation_accuracy_vs_iterations": [(30, 0.75)],
    }


def test_graph_is_written_as_keras_conceptual_graph(tmp_path):
    pytest.importorskip("tensorboardX")
    model = FakeModel()
    model.name = "fake"
    model.summary = lambda print_fn: print_fn('Model: "fake"')
    model.to_json = lambda: json.dumps({"class_name": "Sequential", "config": {"name": "fake"}})
    board = keras.callbacks.TensorBoard(str(tmp_path))
    board.set_model(model)
    board.on_train_begin()
    board.on_train_end()
    written = summaries(tmp_path / "train")
    graph = written["keras"][0][1]
    assert graph.metadata.plugin_data.plugin_name == "graph_keras_model"
    assert json.loads(graph.tensor.string_val[0])["class_name"] == "Sequential"
    assert "fake" in written["model_summary/text_summary"][0][1].tensor.string_val[0].decode()


def test_embeddings_written_for_the_projector(tmp_path):
    pytest.importorskip("tensorboardX")
    table = np.arange(12, dtype="float32").reshape(4, 3)
    weight = types.SimpleNamespace(path="tokens/embeddings", value=table)
    model = FakeModel()
    model.layers = [types.SimpleNamespace(name="tokens", weights=[weight])]
    board = _scripted_board(tmp_path, embeddings_freq=2, embeddings_metadata="labels.tsv")
    board.model = model
    for epoch in range(3):
        board.on_epoch_end(epoch, {"loss": 1.0})
    board.on_train_end()
    config = (tmp_path / "train" / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "tokens:00002"' in config and 'metadata_path: "labels.tsv"' in config
    saved = np.loadtxt(tmp_path / "train" / "embeddings" / "00002" / "tokens" / "tensors.tsv")
    np.testing.assert_array_equal(saved, table)
    board.embeddings_metadata = {"words": "w.tsv"}
    with pytest.raises(ValueError, match="Unrecognized embedding layer names.*words"):
        board.on_epoch_end(0, {"loss": 1.0})


def test_tensorboards_own_reader_loads_the_files(tmp_path):
    pytest.importorskip("tensorboardX")
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    board = _scripted_board(tmp_path)
    board.on_train_begin()
    for epoch in range(3):
        board.on_epoch_begin(epoch)
        logs = {"loss": 1.0 / (epoch + 1), "val_loss": 2.0, "f1": np.array([0.5, 0.25])}
        board.on_epoch_end(epoch, logs)  # a per-class vector is not a scalar: skipped
    board.on_train_end()
    runs = {}
    for run in ("train", "validation"):
        reader = accumulator.EventAccumulator(str(tmp_path / run))
        reader.Reload()
        runs[run] = {
            t: [(e.step, e.value) for e in reader.Scalars(t)] for t in reader.Tags()["scalars"]
        }
    assert runs["train"]["epoch_loss"] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert runs["train"]["epoch_learning_rate"] == [(e, 0.5) for e in range(3)]
    assert runs["validation"] == {"epoch_loss": [(0, 2.0), (1, 2.0), (2, 2.0)]}
