"""Keras 3's scikit-learn wrappers (``keras.wrappers``); scikit-learn loads on first use."""

from kerax import _lazy

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]

__getattr__, __dir__ = _lazy.attach(
    __name__, _lazy.table({"kerax.wrappers._sklearn": tuple(__all__)})
)
