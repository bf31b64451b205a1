"""Keras-format progress output: one line per epoch, or a live bar on a terminal."""

from __future__ import annotations

import sys
import time

from kerax.callbacks.callback import Callback

_BAR = 20


def format_logs(logs: dict) -> str:
    return " - ".join(f"{k}: {_fmt(v)}" for k, v in logs.items())


def _fmt(v) -> str:
    v = float(v)
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


def _duration(seconds: float, steps: int) -> str:
    per = seconds / max(steps, 1)
    total = f"{seconds:.0f}s" if seconds >= 1 else f"{seconds * 1000:.0f}ms"
    per_s = (
        f"{per:.0f}s/step"
        if per >= 1
        else (f"{per * 1e3:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step")
    )
    return f"{total} {per_s}"


class ProgbarLogger(Callback):
    """Prints ``Epoch i/N`` and ``steps/steps ━━━━ 1s 2ms/step - loss: ... - accuracy: ...``.

    With ``verbose=1`` on a terminal the bar is redrawn after each compiled dispatch
    (never forcing a device sync for it); otherwise, and with ``verbose=2``, one line is
    printed per epoch.
    """

    _draws_only = True  # batch updates need no logs, so they cost no device sync

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream

    @property
    def _out(self):
        return self.stream or sys.stdout

    def _live(self) -> bool:
        return self.params.get("verbose") == 1 and getattr(self._out, "isatty", lambda: False)()

    def _uses_batch_hooks(self) -> bool:
        # Only a live bar needs per-dispatch logs; otherwise printing one line per epoch
        # must not cost a device sync per dispatch.
        return self._live()

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._out.write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")
        self._out.flush()

    def on_train_batch_end(self, batch, logs=None):
        self._done = batch + 1  # counts batches when the epoch length is unknown (generators)
        if self._live():
            self._draw(batch + 1, logs or {}, end="\r")  # logs are None unless read anyway

    def _draw(self, done: int, logs: dict, end: str) -> None:
        steps = self.params.get("steps") or done
        filled = int(_BAR * min(done / max(steps, 1), 1.0))
        bar = "━" * filled + " " * (_BAR - filled) if self._live() else "━" * _BAR
        elapsed = time.perf_counter() - self._start
        line = f"{done}/{steps} {bar} {_duration(elapsed, done)}"
        if logs:
            line += " - " + format_logs(logs)
        self._out.write(line + end)
        self._out.flush()

    def on_epoch_end(self, epoch, logs=None):
        steps = self.params.get("steps") or getattr(self, "_done", 0)
        self._draw(steps, logs or {}, end="\n")
