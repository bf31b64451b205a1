"""``plot_model`` / ``model_to_dot``: Keras's entry points; kerax cannot draw models yet.

As in Keras 3, a missing ``pydot`` or Graphviz is reported first (an ImportError in a
script; a printed message and ``None`` in IPython). With both present, kerax says that
it cannot draw a model and points to ``model.summary()``.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any

from kerax.utils._io import print_msg

_NOT_DRAWN = (
    "kerax cannot draw models yet: plot_model/model_to_dot are not implemented. Use "
    "model.summary() to inspect a model, or load its saved .keras file in Keras to plot it."
)


def _pydot_installed() -> bool:
    try:
        import pydot  # noqa: F401
    except ImportError:
        return False
    return True


def _graphviz_installed() -> bool:
    return shutil.which("dot") is not None


def _check_built(model: Any) -> None:
    if not getattr(model, "built", True):
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` "
            "or by calling the model on a batch of data."
        )


def model_to_dot(
    model: Any,
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    subgraph: bool = False,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    **kwargs: Any,
) -> Any:
    """Keras's ``model_to_dot``: a missing pydot is an ImportError, as in Keras.

    Raises:
        ValueError: for a model that is not built.
        ImportError: when pydot is not installed.
        NotImplementedError: otherwise; kerax does not draw models.
    """
    _check_built(model)
    if not _pydot_installed():
        raise ImportError("You must install pydot (`pip install pydot`) for model_to_dot to work.")
    raise NotImplementedError(_NOT_DRAWN)


def plot_model(
    model: Any,
    to_file: str = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = False,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    **kwargs: Any,
) -> Any:
    """Keras's ``plot_model``: missing pydot or Graphviz is reported as Keras does.

    In a script that is an ImportError; in IPython the message is printed and None
    returned. With both installed, kerax raises NotImplementedError: it cannot draw.

    Raises:
        ValueError: for a model that is not built.
        ImportError: when pydot or Graphviz is missing (outside IPython).
        NotImplementedError: when both are installed.
    """
    _check_built(model)
    for ok, message in (
        (
            _pydot_installed,
            "You must install pydot (`pip install pydot`) for `plot_model` to work.",
        ),
        (
            _graphviz_installed,
            "You must install graphviz (see instructions at "
            "https://graphviz.gitlab.io/download/) for `plot_model` to work.",
        ),
    ):
        if not ok():
            if "IPython.core.magics.namespace" in sys.modules:  # a notebook: say it, go on
                print_msg(message)
                return None
            raise ImportError(message)
    raise NotImplementedError(_NOT_DRAWN)
