"""``TensorBoard``: standard event files for TensorBoard, written without TensorFlow."""

from __future__ import annotations

import itertools
import os
import time

import jax
import numpy as np

from kerax import _warnings
from kerax.callbacks import _tb_extras
from kerax.callbacks.callback import Callback
from kerax.callbacks.learning_rate_scheduler import logged_rates

# Keeps event file names unique when several writers open in one second (TensorBoard
# would otherwise see one file overwrite another).
_file_ids = itertools.count()


def _scalars(logs: dict) -> dict[str, float]:
    """The scalar logs; per-class metric vectors (``F1Score(average=None)``) have no
    scalar plot, so they are left out rather than failing the fit."""
    return {k: float(v) for k, v in logs.items() if np.ndim(v) == 0}


def _profile_range(value) -> tuple[int, int]:
    message = (
        "TensorBoard: profile_batch must be a non-negative integer or a pair of positive "
        f"integers (start, stop) with start <= stop. Received: profile_batch={value!r}"
    )
    if isinstance(value, str):
        try:
            value = [int(v) for v in value.split(",")]
        except ValueError:
            raise ValueError(message) from None
    if isinstance(value, int) and not isinstance(value, bool):
        start, stop = value, value
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        start, stop = value
    else:
        raise ValueError(message)
    if not (isinstance(start, int) and isinstance(stop, int)) or start < 0 or stop < start:
        raise ValueError(message)
    return start, stop


class TensorBoard(Callback):
    """Log scalars, histograms, the model and profiles for TensorBoard.

    Writes the TensorBoard event-file format with ``tensorboardX`` (no TensorFlow). As
    Keras does: training values go to ``log_dir/train`` and validation values to
    ``log_dir/validation``, as ``epoch_<name>`` scalars per epoch (``epoch_loss``,
    ``epoch_accuracy``, ``epoch_learning_rate``, ...); with ``update_freq=N`` also
    ``batch_<name>`` every N batches. Open them with ``tensorboard --logdir log_dir``.

    Cost: per-epoch logging reads nothing the fit does not already read. Batch-level
    logging (``update_freq`` an integer or ``"batch"``) and profiling make ``fit`` read the
    logs from the device after every dispatch (``steps_per_execution`` steps), a sync
    per dispatch; batch scalars are written at the first dispatch boundary after each N
    batches. Histograms copy every weight to the host every ``histogram_freq`` epochs.

    Args:
        log_dir: the root directory of the event files.
        histogram_freq: write weight histograms every this many epochs (0: never).
        write_graph: write the model summary (text dashboard) and, when the model can
            be serialized to JSON, its Keras conceptual graph (graphs dashboard).
        write_images: with ``histogram_freq``, also write the weights as images.
        write_steps_per_second: also log training steps per second.
        update_freq: ``"epoch"``, ``"batch"``, or an integer N: batch scalars every N
            batches.
        profile_batch: profile these batches (an integer, or ``(start, stop)``, counted
            from 1 across epochs) with ``jax.profiler``; the trace lands under
            ``log_dir/train/plugins/profile``. 0 disables profiling.
        embeddings_freq: every this many epochs, write the tables of layers with an
            ``embeddings`` weight for the Projector dashboard.
        embeddings_metadata: a metadata ``.tsv`` path for all embedding layers, or a
            dict ``{layer_name: path}``.

    Raises:
        ImportError: if tensorboardX is not installed.
        ValueError: for invalid frequencies or ``profile_batch``.

    Example:
        >>> import tempfile, kerax as keras
        >>> tensorboard = keras.callbacks.TensorBoard(log_dir=tempfile.mkdtemp())
        >>> tensorboard.update_freq
        'epoch'
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        self._writer_class = _tb_extras.writer_class()
        for arg, value in (
            ("histogram_freq", histogram_freq),
            ("embeddings_freq", embeddings_freq),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"TensorBoard: {arg} must be a non-negative integer (0 disables it). "
                    f"Received: {arg}={value!r}"
                )
        update_freq = 1 if update_freq == "batch" else update_freq
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(
                "TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer. "
                f"Received: update_freq={update_freq!r}"
            )
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._start_batch, self._stop_batch = _profile_range(profile_batch)
        self._should_trace = not (self._start_batch == 0 and self._stop_batch == 0)
        self._is_tracing = False
        self._traced = False
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers: dict = {}
        self._global_train_batch = 0
        self._last_batch = None
        self._last_time = 0.0

    # -- writers ---------------------------------------------------------------------
    def _writer(self, which: str):
        if which not in self._writers:
            path = self._train_dir if which == "train" else self._val_dir
            suffix = f".{os.getpid()}.{next(_file_ids)}"
            self._writers[which] = self._writer_class(path, filename_suffix=suffix)
        return self._writers[which]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _uses_batch_hooks(self) -> bool:
        profiling = self._should_trace and (self._is_tracing or not self._traced)
        return self.update_freq != "epoch" or profiling

    # -- fit hooks -------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._last_batch = None
        self._last_time = time.perf_counter()
        self._traced = False
        if self.write_graph:
            self._write_model()
        if self._should_trace and self._start_batch <= 1:
            self._start_trace()

    def on_train_end(self, logs=None):
        if self._is_tracing:
            self._stop_trace()
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_start_iterations = self._iterations()

    def on_train_batch_end(self, batch, logs=None):
        # One call per dispatch, with its last batch index: count the batches it covered.
        new_epoch = self._last_batch is None or batch <= self._last_batch
        done = batch + 1 if new_epoch else batch - self._last_batch
        self._last_batch = batch
        before = self._global_train_batch
        self._global_train_batch += done
        step = self._global_train_batch
        if self.update_freq != "epoch" and before // self.update_freq != step // self.update_freq:
            writer = self._writer("train")
            for name, value in _scalars(logs or {}).items():
                writer.add_scalar(f"batch_{name}", value, step)
            if self.write_steps_per_second:
                now = time.perf_counter()
                writer.add_scalar("batch_steps_per_second", done / (now - self._last_time), step)
        self._last_time = time.perf_counter()
        if self._is_tracing and step >= self._stop_batch:
            self._stop_trace()
        elif self._should_trace and not self._traced and self._start_batch <= step + 1:
            if step < self._stop_batch:  # the next dispatch still holds profiled batches
                self._start_trace()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)

    def on_test_end(self, logs=None):
        # Keras logs evaluate() results against the optimizer's iteration count.
        optimizer = getattr(self.model, "optimizer", None)
        if logs and optimizer is not None and hasattr(optimizer, "iterations"):
            writer = self._writer("val")
            for name, value in logs.items():
                writer.add_scalar(
                    f"evaluation_{name}_vs_iterations", float(value), int(optimizer.iterations)
                )
            writer.flush()

    # -- what gets written -------------------------------------------------------------
    def _iterations(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        return int(getattr(optimizer, "iterations", 0) or 0)

    def _write_model(self) -> None:
        writer = self._writer("train")
        lines: list[str] = []
        self.model.summary(print_fn=lines.append)
        # Indented lines are a code block in the text dashboard's Markdown.
        writer.add_text("model_summary", "\n".join("    " + line for line in lines), 0)
        to_json = getattr(self.model, "to_json", None)
        if to_json is not None:
            try:
                config = to_json()
            except Exception as e:  # serialization of custom objects may fail in any way
                _warnings.warn(
                    f"TensorBoard: the model could not be serialized to JSON, so its graph "
                    f"is not written ({type(e).__name__}: {e}). The text summary is."
                )
            else:
                writer._get_file_writer().add_summary(_tb_extras.keras_graph_summary(config), 0)
        writer.flush()

    def _log_epoch_metrics(self, epoch: int, logs: dict) -> None:
        if not logs:
            return
        logs = _scalars(logs)
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if getattr(optimizer, "optimizers", None) or hasattr(optimizer, "learning_rate"):
            train.update(logged_rates(optimizer))  # per sub-optimizer for a MultiOptimizer
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._epoch_start
            steps = self._iterations() - self._epoch_start_iterations
            train["steps_per_second"] = steps / seconds if seconds > 0 else 0.0
        for which, values in (("train", train), ("val", val)):
            if values:
                writer = self._writer(which)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
                writer.flush()

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        weights = self.model.weights
        values = jax.device_get([w.value for w in weights])
        for weight, value in zip(weights, values):
            name = weight.path.replace(":", "_")
            value = np.asarray(value, np.float32)
            writer.add_histogram(f"{name}/histogram", value, epoch)
            if self.write_images:
                image = _tb_extras.weight_image(value)
                if image is not None:
                    summary = _tb_extras.image_summary(f"{name}/image", image)
                    writer._get_file_writer().add_summary(summary, epoch)
        writer.flush()

    def _log_embeddings(self, epoch: int) -> None:
        tables = {}
        for layer in self.model.layers:
            for weight in getattr(layer, "weights", []):
                if weight.path.rsplit("/", 1)[-1] == "embeddings":
                    tables[layer.name] = np.asarray(weight.value)
        meta = self.embeddings_metadata
        if isinstance(meta, str):
            meta = dict.fromkeys(tables, meta)
        meta = dict(meta or {})
        unknown = sorted(set(meta) - set(tables))
        if unknown:
            raise ValueError(
                "Unrecognized embedding layer names passed to TensorBoard's "
                f"`embeddings_metadata`: {unknown}. Layers with embeddings: {sorted(tables)}"
            )
        _tb_extras.write_embeddings(self._train_dir, epoch, tables, meta)

    # -- profiling -------------------------------------------------------------------
    def _start_trace(self) -> None:
        os.makedirs(self._train_dir, exist_ok=True)
        try:
            jax.profiler.start_trace(self._train_dir)
        except RuntimeError as e:
            raise RuntimeError(
                f"TensorBoard could not start the profiler for profile_batch=("
                f"{self._start_batch}, {self._stop_batch}): {e}. Another trace may be "
                "running (jax.profiler.stop_trace() ends it); or pass profile_batch=0."
            ) from e
        self._is_tracing = True
        self._traced = True

    def _stop_trace(self) -> None:
        jax.profiler.stop_trace()
        self._is_tracing = False
