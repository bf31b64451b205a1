"""``inspect.signature``, remembered per function or class.

Building a model asks for the same few signatures thousands of times (each layer's
``__init__`` when it is made, each initializer class when a name like
``"glorot_uniform"`` is resolved), and ``inspect.signature`` rebuilds one each time:
about 15 s of the test suite's worker time, and a share of every model's build.
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any

_SIGNATURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def signature(obj: Any) -> inspect.Signature:
    """``inspect.signature(obj)``, computed once per live ``obj``.

    Objects that cannot be weakly referenced (some built-ins) are not remembered.

    Example:
        >>> def f(a, b=1): ...
        >>> list(signature(f).parameters)
        ['a', 'b']
        >>> signature(f) is signature(f)
        True
    """
    try:
        return _SIGNATURES[obj]
    except (KeyError, TypeError):
        pass
    found = inspect.signature(obj)
    try:
        _SIGNATURES[obj] = found
    except TypeError:
        pass
    return found
