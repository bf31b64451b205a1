"""Lazy package exports (PEP 562) for kerax's public packages.

A package states its public names and the module each one lives in; that module is
imported the first time the name is read. ``import kerax`` then costs the training core
only, and a program pays for a layer family, a saver or a callback when it first
touches it. ``pkg.Name``, ``from pkg import Name``, ``from pkg import *``, ``dir(pkg)``
and ``import pkg.sub`` behave exactly as with eager imports.

Example (inside a package ``__init__.py``)::

    __all__ = ["Dense", "Conv2D"]
    __getattr__, __dir__ = attach(
        __name__, {"Dense": ".core", "Conv2D": ".convolution"}, submodules=["core"]
    )
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def table(groups: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Invert ``{module: names}`` into ``{name: module}``.

    Args:
        groups: module paths (absolute, or relative to the package such as ``".core"``)
            to the public names each one defines.

    Returns:
        One entry per name.

    Raises:
        ValueError: when two modules claim the same name.
    """
    exports: dict[str, str] = {}
    for module, names in groups.items():
        for name in names:
            if name in exports:
                raise ValueError(
                    f"Public name {name!r} is listed for both {exports[name]!r} and "
                    f"{module!r}; list it under one module only."
                )
            exports[name] = module
    return exports


def attach(
    package: str, exports: Mapping[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose names load on first use.

    Args:
        package: the package's ``__name__``.
        exports: public name to the module that defines it (under the same name).
        submodules: public submodules, listed by ``dir``. Any other submodule of the
            package also resolves, as it would after an eager ``import package.sub``.

    Returns:
        ``(__getattr__, __dir__)`` to assign at the package's top level.
    """

    submodules = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is not None:
            value = getattr(importlib.import_module(module_name, package), name)
        elif name in submodules or (not name.startswith("__") and _has_submodule(package, name)):
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # Cached on the module, so this hook runs once per name.
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports, *submodules})

    return __getattr__, __dir__


def load_all(package: str, exports: Mapping[str, str]) -> dict[str, Any]:
    """Resolve every export of ``package`` (for registries that scan all its names)."""
    module = sys.modules[package]
    return {name: getattr(module, name) for name in exports}


def _has_submodule(package: str, name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.{name}") is not None
    except (ImportError, ValueError):
        return False
