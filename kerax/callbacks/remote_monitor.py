"""``RemoteMonitor``: post each epoch's logs to a server as JSON."""

from __future__ import annotations

import json

import numpy as np

from kerax import _warnings
from kerax.callbacks.callback import Callback


def _jsonable(value):
    """A log value as JSON can carry it: arrays become numbers (one element) or lists."""
    if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__array__"):
        array = np.asarray(value)
        return array.item() if array.size == 1 else array.tolist()
    return value


class RemoteMonitor(Callback):
    """Send the logs of every epoch to a server (an HTTP POST per epoch end).

    The event is ``{"epoch": epoch, **logs}`` (epoch counts from 0), JSON-encoded and
    posted to ``root + path``: inside a form field named ``field`` by default, or as the
    request body with content type ``application/json`` when ``send_as_json=True``. A
    server that cannot be reached gives a warning, not an error. Needs the ``requests``
    library.

    Args:
        root: the server's root URL.
        path: the path, relative to ``root``, events are posted to.
        field: the form field that holds the JSON (only when ``send_as_json=False``).
        headers: extra HTTP headers, a dict.
        send_as_json: post the event as a JSON body instead of in a form.

    Raises:
        ImportError: if ``requests`` is not installed.

    Example:
        >>> import kerax as keras
        >>> monitor = keras.callbacks.RemoteMonitor(root="http://localhost:9000")
        >>> monitor.root + monitor.path
        'http://localhost:9000/publish/epoch/end/'
    """

    def __init__(
        self,
        root="http://localhost:9000",
        path="/publish/epoch/end/",
        field="data",
        headers=None,
        send_as_json=False,
    ):
        super().__init__()
        try:
            import requests  # noqa: F401
        except ImportError:  # Keras raises at the first epoch end; here, at once
            raise ImportError(
                "RemoteMonitor requires the `requests` library. Install it with "
                "`pip install requests`."
            ) from None
        if headers is not None and not isinstance(headers, dict):
            raise TypeError(
                "RemoteMonitor: headers must be a dict of HTTP header names to values, or "
                f"None. Received: headers={headers!r}"
            )
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        import requests

        send = {"epoch": epoch}
        for key, value in (logs or {}).items():
            send[key] = _jsonable(value)
        url = self.root + self.path
        try:
            if self.send_as_json:
                requests.post(url, json=send, headers=self.headers)
            else:
                requests.post(url, {self.field: json.dumps(send)}, headers=self.headers)
        except requests.exceptions.RequestException:
            _warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}")
