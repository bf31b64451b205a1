"""Keras-format progress output for ``fit``, ``evaluate`` and ``predict``.

``verbose=1`` with stdout on a terminal: a live bar, redrawn at most every 0.05 s::

    12/60 ━━━━━━━━━━━━━━━━━━━━ 3s 20ms/step - accuracy: 0.8123 - loss: 0.4567

(step counter, bar, ETA, time per step, running metrics), finished with the elapsed
time instead of the ETA. ``verbose=2``, or stdout not a terminal (a log file, CI):
one line per epoch, Keras's ``12/12 - 1s - 20ms/step - loss: ...`` for ``verbose=2``.

Running metrics cost no device sync per step: after queueing a dispatch, ``fit`` hands
the bar its state (:meth:`ProgbarLogger.track`); the bar starts an asynchronous host
copy of that dispatch's logs and reads them at the next dispatch, while the device
works on that one. So the numbers on a live bar trail the step counter by one dispatch
(``steps_per_execution="auto"`` makes that about 1/20 epoch); the epoch's final line
shows the exact epoch logs.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from kerax import config
from kerax.callbacks.callback import Callback, CallbackList

_WIDTH = 20
_INTERVAL = 0.05  # seconds between redraws, as Keras
_BOLD, _GREEN, _WHITE, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


def format_logs(logs: dict) -> str:
    """``"accuracy: 0.8123 - loss: 0.4567"``: Keras's order (sorted) and number format."""
    return " - ".join(f"{k}: {_fmt(v)}" for k, v in sorted(logs.items()))


def _fmt(v: Any) -> str:
    try:
        v = float(np.mean(v))  # a per-class metric shows its mean, as Keras does
    except (TypeError, ValueError):
        return str(v)
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def per_unit(seconds: float, unit: str = "step") -> str:
    """Keras's time per step (or per ``unit``): ``3s/step``, ``12ms/step``, ``40us/step``."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def eta(seconds: float) -> str:
    """Keras's time left: ``1:02:03``, ``2:05`` or ``42s`` (whole seconds)."""
    seconds = int(seconds)
    if seconds > 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if seconds > 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


class ProgbarLogger(Callback):
    """Prints Keras's progress output: ``Epoch i/N``, then a bar or one line per epoch.

    ``fit``, ``evaluate`` and ``predict`` add one when ``verbose`` is 1 or 2 (or
    ``"auto"``), unless ``callbacks`` holds one already (one writing to another stream,
    say). Validation inside ``fit`` is silent, as in Keras: its results appear as
    ``val_*`` on the epoch line.

    Args:
        stream: where to write; ``sys.stdout`` (looked up at each write) by default.
            A bar is live only when this stream is a terminal (``isatty()``).

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = ProgbarLogger(stream=out)
        >>> bar.set_params({"epochs": 1, "steps": 3, "verbose": 2})
        >>> bar.on_epoch_begin(0)
        >>> bar.on_epoch_end(0, {"loss": 0.25})
        >>> out.getvalue().startswith("3/3 - ")
        True
    """

    # Batch updates need no logs from fit (the bar fetches its own, asynchronously, via
    # `track`), so a live bar never makes fit read logs per dispatch.
    _draws_only = True

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream
        self._in_fit = False
        self._begin()

    @property
    def _out(self):
        return self.stream or sys.stdout

    def _verbose(self) -> int:
        return verbosity(self.params.get("verbose", 1))

    def _to_log(self) -> bool:
        """Default stream with interactive logging off: lines go to ``logging``."""
        return self.stream is None and not config.is_interactive_logging_enabled()

    def _live(self) -> bool:
        live = self._verbose() == 1 and getattr(self._out, "isatty", lambda: False)()
        return live and not self._to_log()

    def _uses_batch_hooks(self) -> bool:
        return self._live()

    # -- hooks ---------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._in_fit = True  # validation runs are silent

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs", 1)
        if self._verbose() and epochs > 1:
            self._write(f"Epoch {epoch + 1}/{epochs}\n")
        self._begin()

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._begin()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch + 1, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._begin()

    def on_predict_batch_end(self, batch, logs=None):
        # The logs hold outputs, not metrics. Without a step count (predict gets none
        # for arrays) only the final line is drawn, not an "Unknown" bar.
        self._update(batch + 1, None, draw=bool(self.params.get("steps")))

    def on_predict_end(self, logs=None):
        self.params = {**self.params, "steps": None}  # the batches run, not `steps`
        self._finish(None)

    # -- running logs --------------------------------------------------------------------
    def track(self, state: Any, logs_fn: Callable[[Any], dict]) -> None:
        """Fetch running logs for the live bar without a device sync per step.

        ``fit`` calls this after queueing each dispatch. The logs of this dispatch
        (``logs_fn(state)``, device scalars) start copying to the host; those of the
        previous dispatch are read now. That read waits, at most, for the previous
        dispatch, while this one keeps the device busy: the host stays one dispatch
        ahead, so the step counter is honest, and the device never waits for the host.

        Args:
            state: the training state after the dispatch.
            logs_fn: maps a state to ``{name: device scalar}``.
        """
        if not self._live():
            return
        if self._pending is not None:
            values = jax.device_get(list(self._pending.values()))
            self._logs = dict(zip(self._pending, values))
        self._pending = logs_fn(state)
        for value in self._pending.values():
            getattr(value, "copy_to_host_async", lambda: None)()

    # -- drawing -------------------------------------------------------------------------
    def _begin(self) -> None:
        self._start = time.perf_counter()
        self._first: tuple[int, float] | None = None  # (steps, time) at the first update
        self._done = 0
        self._logs: dict = {}
        self._pending: dict | None = None
        self._drawn = -math.inf
        self._width = 0

    def _update(self, done: int, logs: dict | None, draw: bool = True) -> None:
        now = time.perf_counter()
        if self._first is None:  # its time includes compiling: kept out of the step time
            self._first = (done, now)
        self._done = done
        if logs:
            self._logs = logs
        if draw and self._live() and now - self._drawn >= _INTERVAL:
            self._draw(done, final=False)
            self._drawn = now

    def _finish(self, logs: dict | None) -> None:
        if self._verbose() == 0:
            return
        self._done = self.params.get("steps") or self._done
        self._logs = logs or {}
        self._draw(self._done, final=True)

    def _step_time(self, done: int, now: float) -> float:
        if self._first is not None and done > self._first[0]:
            return (now - self._first[1]) / (done - self._first[0])
        return (now - self._start) / max(done, 1)

    def _draw(self, done: int, final: bool) -> None:
        now = time.perf_counter()
        steps = self.params.get("steps") or (done if final else None)
        per_step = per_unit(self._step_time(done, now))
        elapsed = f"{now - self._start:.0f}s"
        metrics = "".join(f" - {k}: {_fmt(v)}" for k, v in sorted(self._logs.items()))
        if self._verbose() == 2:
            self._write(f"{done}/{steps or done} - {elapsed} - {per_step}{metrics}\n")
        elif not self._live():
            self._write(f"{done}/{steps or done} {'━' * _WIDTH} {elapsed} {per_step}{metrics}\n")
        else:
            self._write_live(done, steps, final, elapsed, per_step, metrics, now)

    def _write_live(self, done, steps, final, elapsed, per_step, metrics, now) -> None:
        if steps:
            counter = f"{done:>{len(str(steps))}}/{steps}"
            filled = int(_WIDTH * min(done / steps, 1.0))
            done_part = f"{_GREEN}{'━' * filled}{_RESET}" if filled else ""
            bar = f" {done_part}{_WHITE}{'━' * (_WIDTH - filled)}{_RESET}"
            timing = elapsed if final else eta(self._step_time(done, now) * (steps - done))
        else:  # a generator of unknown length
            counter, bar, timing = f"{done:>7}/Unknown", "", elapsed
        tail = f" {per_step}{metrics}"
        width = len(counter) + (1 + _WIDTH if steps else 0) + 1 + len(timing) + len(tail)
        line = f"{_BOLD}{counter}{_RESET}{bar} {_BOLD}{timing}{_RESET}{tail}"
        line += " " * max(self._width - width, 0)  # blank what a longer line left behind
        self._width = width
        self._write("\r" + line + ("\n" if final else ""))

    def _write(self, text: str) -> None:
        if self._to_log():
            from kerax.utils._io import print_msg

            print_msg(text.strip("\r\n"))
            return
        self._out.write(text)
        self._out.flush()


def with_progbar(callbacks: list | None, verbose: Any, **params) -> CallbackList:
    """evaluate/predict's callbacks, with Keras's progress output unless verbose=0.

    ``params["verbose"]`` is ``verbose`` as given ("auto" stays "auto", as in Keras)."""
    add_progbar = verbosity(verbose) != 0
    return CallbackList(callbacks, add_progbar=add_progbar, verbose=verbose, **params)


def fit_callbacks(callbacks: list | None, verbose: Any, model: Any, epochs: int, steps) -> Any:
    """fit's callbacks, as Keras's fit has them: the user's, then a ``History`` (which
    becomes ``model.history``) and, unless ``verbose=0``, the progress output."""
    return CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbosity(verbose) != 0,
        model=model,
        epochs=epochs,
        steps=steps,
        verbose=verbose,
    )


def verbosity(verbose: Any) -> int:
    """The output level a ``verbose`` argument asks for ("auto" is 1, as in Keras)."""
    return 1 if verbose == "auto" else int(verbose)
