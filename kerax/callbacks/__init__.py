"""Callbacks: hooks into ``fit``, ``evaluate`` and ``predict`` (Keras names)."""

from kerax.callbacks.callback import Callback as Callback
from kerax.callbacks.callback import CallbackList as CallbackList
from kerax.callbacks.history import History as History
from kerax.callbacks.progbar import ProgbarLogger as ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]
