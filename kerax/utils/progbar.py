"""``Progbar``: Keras's standalone progress bar, for custom training loops."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from kerax.callbacks.progbar import eta
from kerax.callbacks.progbar import per_unit as time_per_unit
from kerax.utils._io import print_msg

_BOLD, _GREEN, _WHITE, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


class Progbar:
    """A progress bar with running metrics, drawn as Keras's ``fit`` draws it.

    Metrics passed to :meth:`update` are averaged over the steps seen (weighted by the
    steps each value covers), except those named in ``stateful_metrics``, shown as
    given. With ``stateless_metrics`` instead, only those are averaged.

    Args:
        target: total number of steps, or None when unknown.
        width: bar width in characters.
        verbose: 0 (silent), 1 (a bar redrawn in place) or 2 (one line at the end).
        interval: minimum seconds between redraws.
        stateful_metrics: names of metrics shown as-is rather than averaged.
        stateless_metrics: names of the only metrics to average (excludes the above).
        unit_name: what a step is called in the timing (``"step"``, ``"sample"``).

    Example:
        >>> bar = Progbar(3, verbose=0)
        >>> for step in range(3):
        ...     bar.update(step + 1, values=[("loss", 1.0 / (step + 1))])
        >>> bar._seen_so_far
        3
    """

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        stateful_metrics: Iterable[str] | None = None,
        stateless_metrics: Iterable[str] | None = None,
        unit_name: str = "step",
    ):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Only one of `stateful_metrics` or `stateless_metrics` can be provided."
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        if stateless_metrics is not None:
            self.stateful_metrics = None
            self.stateless_metrics = set(stateless_metrics)
        else:
            self.stateful_metrics = set(stateful_metrics or ())
            self.stateless_metrics = None
        # As Keras: redraw in place on a terminal, in a notebook, and on POSIX systems.
        self._dynamic_display = (
            getattr(sys.stdout, "isatty", lambda: False)()
            or "ipykernel" in sys.modules
            or os.name == "posix"
            or "PYCHARM_HOSTED" in os.environ
        )
        self._seen_so_far = 0
        self._values: dict[str, list] = {}
        self._values_order: list[str] = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    def _averaged(self, name: str) -> bool:
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def update(
        self,
        current: int,
        values: list[tuple[str, Any]] | None = None,
        finalize: bool | None = None,
    ) -> None:
        """Move the bar to step ``current``.

        Args:
            current: the index of the current step (1-based count of steps done).
            values: ``[(name, value_for_last_step), ...]``.
            finalize: whether this is the last update; default ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            if name not in self._values_order:
                self._values_order.append(name)
            if not self._averaged(name) or finalize:  # shown as given
                self._values[name] = [value, 1]
            else:
                steps = max(current - self._seen_so_far, 1)
                if name in self._values:
                    self._values[name][0] += value * steps
                    self._values[name][1] += steps
                else:
                    self._values[name] = [value * steps, steps]
        self._seen_so_far = current

        now = time.time()
        per_unit = self._step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._draw(current, now, per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            line = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -"
            line += self._format_time(per_unit) + self._metrics(signed_small=False)
            print_msg(line + "\n", line_break=False)
        self._last_update = now

    def add(self, n: int, values: list[tuple[str, Any]] | None = None) -> None:
        """Advance the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    # -- drawing -------------------------------------------------------------------------
    def _draw(self, current: int, now: float, per_unit: float, finalize: bool) -> None:
        message = ("\b" * self._prev_total_width + "\r") if self._dynamic_display else "\n"
        hidden = 0  # characters of colour codes, not counted in the width
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            bar = f"{_BOLD}{current:{digits}d}/{self.target}{_RESET} "
            hidden += 8
            filled = int(self.width * current / self.target)
            if filled > 0:
                bar += f"{_GREEN}{'━' * filled}{_RESET}"
                hidden += 9
            bar += f"{_WHITE}{'━' * (self.width - filled)}{_RESET}"
            hidden += 9
        else:
            bar = f"{current:7d}/Unknown"
        if self.target is not None and self.target > 0 and not finalize:
            info = f" {_BOLD}{eta(per_unit * (self.target - current))}{_RESET}"
        else:
            info = f" {_BOLD}{now - self._start:.0f}s{_RESET}"
        hidden += 8
        info += self._format_time(per_unit) + self._metrics(signed_small=True)
        total_width = len(bar) + len(info) - hidden
        message += bar + info
        if self._prev_total_width > total_width:
            message += " " * (self._prev_total_width - total_width)
        if finalize:
            message += "\n"
        print_msg(message, line_break=False)
        self._prev_total_width = total_width

    def _metrics(self, signed_small: bool) -> str:
        text = ""
        for name in self._values_order:
            total, count = self._values[name]
            if not isinstance(total, float):
                total = np.mean(total)
            avg = total / max(1, count)
            small = abs(avg) <= 1e-3 if signed_small else avg <= 1e-3
            text += f" - {name}: {avg:.4e}" if small else f" - {name}: {avg:.4f}"
        return text

    def _format_time(self, seconds: float) -> str:
        return " " + time_per_unit(seconds, self.unit_name)

    def _step_duration(self, current: int, now: float) -> float:
        """Seconds per step, leaving out the first step (compilation) once past it."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit
