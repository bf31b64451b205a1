"""``CSVLogger``: one CSV row of logs per epoch."""

from __future__ import annotations

import collections.abc
import csv
import os

import numpy as np

from kerax.callbacks.callback import Callback


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
        isinstance(value, np.ndarray) and value.ndim == 0
    ):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Stream the epoch logs to a CSV file: a header, then ``epoch,<log names...>`` rows.

    Columns are the sorted log names of the first epoch; when that epoch has no
    validation logs, ``val_<name>`` columns are added for later ones (``NA`` when absent).
    The file is flushed after every row, so it can be read while training runs.

    Args:
        filename: the CSV file's path.
        separator: the column separator.
        append: append to an existing file (the header is written only if the file is
            empty) instead of overwriting it.

    Raises:
        ValueError: if ``separator`` is not a single character.

    Example:
        >>> import os, tempfile, kerax as keras
        >>> path = os.path.join(tempfile.mkdtemp(), "training.log")
        >>> logger = keras.callbacks.CSVLogger(path, append=True)
        >>> logger.sep
        ','
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                "CSVLogger: separator must be a single character, e.g. ',' or '\\t'. "
                f"Received: separator={separator!r}"
            )
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not f.readline()
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        # newline="": the csv module writes its own line endings.
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            dialect = type("_Dialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch", *self.keys], dialect=dialect
            )
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, _cell(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
