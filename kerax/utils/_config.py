"""``keras.utils.Config``: named values read and set as attributes or items, freezable."""

from __future__ import annotations

import difflib
import json
from typing import Any


class Config:
    """A dict-like container of named values (Keras's ``keras.utils.Config``).

    Values are set and read as attributes or as items; ``freeze()`` turns every change
    into a ``ValueError`` until ``unfreeze()``; ``to_json()`` serializes the values.
    Iterating yields the names in sorted order, as in Keras.

    Args:
        **values: the initial named values.

    Raises:
        ValueError: a change while frozen.
        AttributeError: reading a name that is not set (with the closest name set).

    Example:
        >>> from kerax.utils import Config
        >>> config = Config(learning_rate=0.1)
        >>> config.seed = 123
        >>> config["learning_rate"], config.seed, sorted(config)
        (0.1, 123, ['learning_rate', 'seed'])
        >>> config.freeze()
        >>> config.seed = 1
        Traceback (most recent call last):
        ...
        ValueError: Cannot set 'seed': this Config is frozen. Call config.unfreeze() first.
    """

    def __init__(self, **values: Any):
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        """Whether changes are refused."""
        return self._frozen

    def freeze(self) -> None:
        """Refuse every change from now on (until ``unfreeze()``)."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        """Allow changes again."""
        object.__setattr__(self, "_frozen", False)

    def _check_mutable(self, what: str) -> None:
        if self._frozen:
            raise ValueError(f"Cannot {what}: this Config is frozen. Call config.unfreeze() first.")

    def as_dict(self) -> dict:
        """A (shallow) copy of the values as a dict."""
        return dict(self._values)

    def to_json(self) -> str:
        """The values as a JSON string."""
        return json.dumps(self._values)

    def keys(self):
        return self._values.keys()

    def values(self):
        return self._values.values()

    def items(self):
        return self._values.items()

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def pop(self, *args: Any) -> Any:
        self._check_mutable(f"pop {args[0]!r}" if args else "pop")
        return self._values.pop(*args)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._check_mutable("update")
        self._values.update(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(type(self), name):  # a method or property of the class itself
            raise AttributeError(f"Cannot set {name!r}: it is a method of Config.")
        self[name] = value

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        message = f"Config has no value named {name!r}."
        close = difflib.get_close_matches(name, list(values), n=1, cutoff=0.7)
        if close:
            message += f" Did you mean {close[0]!r}?"
        raise AttributeError(message)

    def __delattr__(self, name: str) -> None:
        del self[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._check_mutable(f"set {name!r}")
        self._values[name] = value

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __delitem__(self, name: str) -> None:
        self._check_mutable(f"delete {name!r}")
        del self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self):
        return iter(sorted(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<Config {self._values}>"
