"""``keras.datasets``: Keras's small reference datasets as NumPy arrays.

Every ``load_data()`` returns ``(x_train, y_train), (x_test, y_test)`` with Keras's
dtypes and shapes. Files come from Keras's origins into Keras's cache
(``$KERAS_HOME/datasets``, default ``~/.keras/datasets``) through
:func:`kerax.utils.get_file`, with Keras's hash checks, so files downloaded by Keras are
reused and a file placed there by hand works offline.
"""

from kerax import _lazy

_SUBMODULES = (
    "boston_housing",
    "california_housing",
    "cifar10",
    "cifar100",
    "fashion_mnist",
    "imdb",
    "mnist",
    "reuters",
)
__all__ = list(_SUBMODULES)

__getattr__, __dir__ = _lazy.attach(__name__, {}, submodules=_SUBMODULES)
