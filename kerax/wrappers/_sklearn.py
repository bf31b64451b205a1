"""Keras 3's scikit-learn wrappers: a compiled kerax model as a scikit-learn estimator.

Each ``fit`` builds a fresh model (a clone of the given compiled model, or what the given
callable returns for ``X``, ``y`` and ``model_kwargs``), checks that it is compiled, and
trains it with ``model.fit``. Targets go in as Keras's wrappers send them: a regressor's
1-D ``y`` as a column, a classifier's labels one-hot encoded (integer codes when the
model's loss is sparse categorical cross-entropy, which cannot take one-hot targets).

scikit-learn is imported when this module is, that is on first use of
``kerax.wrappers.SKLearn*``, never by ``import kerax``; without it the classes still
import (as Keras's do) and raise ``ImportError`` when constructed.
"""

from __future__ import annotations

import copy
import os
import tempfile
from typing import Any

import numpy as np

from kerax.callbacks.history import History
from kerax.models.cloning import clone_model
from kerax.models.model import Model

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the classes stay importable; constructing one says what to install
    sklearn = None
    BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin = (
        type(name, (), {}) for name in ("BaseEstimator", "Mixin1", "Mixin2", "Mixin3")
    )

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def _validate_data(estimator: Any, *args: Any, **kwargs: Any) -> Any:
    """scikit-learn's input validation (``validate_data`` from 1.6, the method before)."""
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:
        return estimator._validate_data(*args, **kwargs)
    return validate_data(estimator, *args, **kwargs)


def _target_type(y: Any) -> str:
    """scikit-learn's ``type_of_target`` of ``y``, with an error for an unknown type."""
    from sklearn.utils.multiclass import type_of_target

    target_type = type_of_target(y)
    if target_type == "unknown":
        raise ValueError(f"Unknown label type for data: {y!r}")
    return target_type


def _is_sparse_loss(loss: Any) -> bool:
    """Whether a compiled loss (name, function or ``Loss``) takes integer class codes."""
    name = loss if isinstance(loss, str) else getattr(loss, "name", None)
    name = name or getattr(loss, "__name__", "")
    return isinstance(name, str) and name.startswith("sparse_categorical")


class _SavedModel:
    """A model as the bytes of its ``.keras`` file (architecture, weights, compile state)."""

    def __init__(self, model: Model) -> None:
        from kerax.saving.saving_api import save_model

        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            save_model(model, path)
            with open(path, "rb") as file:
                self.data = file.read()

    def load(self) -> Model:
        from kerax.saving.saving_api import load_model

        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            with open(path, "wb") as file:
                file.write(self.data)
            # Unpickling runs code already, so the file's Lambda layers may too.
            return load_model(path, safe_mode=False)


class _SKLBase(BaseEstimator):
    """What the three wrappers share: building, checking and fitting the model (the
    arguments are documented on ``SKLearnRegressor``)."""

    def __init__(
        self,
        model: Any,
        warm_start: bool = False,
        model_kwargs: dict | None = None,
        fit_kwargs: dict | None = None,
    ) -> None:
        if sklearn is None:
            raise ImportError(
                f"{type(self).__name__} requires scikit-learn, which is not installed. "
                "Install it with `pip install scikit-learn` (or `pip install kerax[examples]`)."
            )
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"non_deterministic": True}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self) -> _SKLBase:
        # The default clone deep-copies every parameter, the model included; the model is
        # cloned at fit time anyway, so the new estimator shares it (and copies the rest).
        params = self.get_params(deep=False)
        return type(self)(**{k: v if k == "model" else copy.deepcopy(v) for k, v in params.items()})

    def __getstate__(self) -> dict:
        # kerax models do not pickle; they travel as the bytes of their .keras file.
        state = dict(super().__getstate__())  # a copy: it may be the live __dict__
        for name in ("model", "model_"):
            if isinstance(state.get(name), Model):
                state[name] = _SavedModel(state[name])
        if "history_" in state:  # without its model
            history = History()
            history.history, history.epoch = state["history_"].history, state["history_"].epoch
            state["history_"] = history
        return state

    def __setstate__(self, state: dict) -> None:
        for name in ("model", "model_"):
            if isinstance(state.get(name), _SavedModel):
                state[name] = state[name].load()
        super().__setstate__(state)

    @property
    def epoch_(self) -> int:
        """The number of epochs the last ``fit`` ran (0 before any)."""
        history = getattr(self, "history_", None)
        return len(history.epoch) if history is not None else 0

    def set_fit_request(self, **kwargs: Any) -> _SKLBase:
        """Which metadata ``fit`` requests (scikit-learn's metadata routing).

        Args:
            **kwargs: ``param_name=alias``, each alias ``True``, ``False``, ``None`` or a
                string.

        Returns:
            ``self``.

        Raises:
            RuntimeError: when metadata routing is off.
        """
        if not sklearn.get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "This method is only available when metadata routing is enabled. You can "
                "enable it using sklearn.set_config(enable_metadata_routing=True)."
            )
        from sklearn.utils.metadata_routing import MetadataRequest

        self._metadata_request = MetadataRequest(owner=type(self).__name__)
        for param, alias in kwargs.items():
            self._metadata_request.fit.add_request(param=param, alias=alias)
        return self

    def _get_model(self, X: np.ndarray, y: np.ndarray) -> Model:
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            model = clone_model(self.model)  # compiled as self.model is
        elif callable(self.model):
            model = self.model(X=X, y=y, **(self.model_kwargs or {}))
        else:
            raise TypeError(
                f"{type(self).__name__}: `model` must be a compiled kerax Model or a callable "
                f"model(X=X, y=y, **model_kwargs) returning one. Received: model={self.model!r}"
            )
        if not isinstance(model, Model) or not (model.compiled and model.loss and model.optimizer):
            raise RuntimeError(
                "Given model needs to be compiled, and have a loss and an optimizer. Call "
                "model.compile(optimizer=..., loss=...) before handing it to the wrapper "
                f"(or inside the callable that builds it). Received: {model!r}"
            )
        return model

    def fit(self, X: Any, y: Any, **kwargs: Any) -> _SKLBase:
        """Builds (or, with ``warm_start``, reuses) the model and trains it on ``X``, ``y``.

        Args:
            X: array-like, shape ``(n_samples, n_features)``.
            y: array-like, shape ``(n_samples,)``.
            **kwargs: keyword arguments for ``model.fit``, over ``fit_kwargs``.

        Returns:
            ``self``.

        Raises:
            ValueError: for input scikit-learn's validation rejects, or a target of the
                wrong type.
            RuntimeError: when the model is not compiled.
        """
        X, y = _validate_data(self, X, y)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        self.history_ = model.fit(
            X, self._fit_target(model, y), **{**(self.fit_kwargs or {}), **kwargs}
        )
        self.model_ = model
        return self

    def _raw_predict(self, X: Any) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return self.model_.predict(_validate_data(self, X, reset=False))

    def predict(self, X: Any) -> np.ndarray:
        """The model's predictions for ``X``, in the targets' form (labels for a classifier).

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit``.
        """
        return self._reverse_process_target(self._raw_predict(X))

    def _process_target(self, y: np.ndarray, reset: bool = False) -> np.ndarray:
        _target_type(y)
        if reset:
            self._target_ndim = y.ndim
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _fit_target(self, model: Model, y: np.ndarray) -> np.ndarray:
        return y

    def _reverse_process_target(self, y: np.ndarray) -> np.ndarray:
        if self._target_ndim == 1 and y.ndim == 2 and y.shape[1] == 1:
            return y[:, 0]
        return y


class SKLearnClassifier(ClassifierMixin, _SKLBase):
    """A scikit-learn classifier around a kerax model (Keras's ``keras.wrappers``).

    The labels are one-hot encoded for the model (a callable ``model`` sees ``y`` of
    shape ``(n_samples, n_classes)``); ``predict`` returns the label of the largest
    output, ``decision_function`` the outputs themselves, ``score`` the accuracy.

    Args:
        model, warm_start, model_kwargs, fit_kwargs: as for ``SKLearnRegressor``.

    Attributes:
        model_: the fitted ``Model``.
        history_: the ``History`` its ``fit`` returned.
        classes_: the labels seen by ``fit``, sorted.

    Raises:
        ImportError: when scikit-learn is not installed.

    Example:
        >>> import numpy as np, kerax as keras
        >>> def build(X, y):
        ...     m = keras.Sequential([keras.Input((X.shape[1],)),
        ...                           keras.layers.Dense(y.shape[1], activation="softmax")])
        ...     m.compile(optimizer="sgd", loss="categorical_crossentropy")
        ...     return m
        >>> X, y = np.random.rand(8, 3), np.array(["a", "b"] * 4)
        >>> clf = keras.wrappers.SKLearnClassifier(build, fit_kwargs={"verbose": 0})
        >>> clf.fit(X, y).classes_.tolist()
        ['a', 'b']
    """

    def decision_function(self, X: Any) -> np.ndarray:
        """The model's raw outputs for ``X`` (probabilities or logits, as the model gives).

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit``.
        """
        return self._raw_predict(X)

    def _process_target(self, y: np.ndarray, reset: bool = False) -> np.ndarray:
        target_type = _target_type(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"Only binary and multiclass target types are supported. Target type: {target_type}"
            )
        if reset:
            from sklearn.preprocessing import OneHotEncoder

            self._target_encoder = OneHotEncoder(sparse_output=False).fit(y.reshape(-1, 1))
            self.classes_ = self._target_encoder.categories_[0]
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y.reshape(-1, 1))

    def _fit_target(self, model: Model, y: np.ndarray) -> np.ndarray:
        return y.argmax(axis=1) if _is_sparse_loss(model.loss) else y

    def _reverse_process_target(self, y: np.ndarray) -> np.ndarray:
        return self._target_encoder.inverse_transform(y)[:, 0]

    def _more_tags(self) -> dict:
        return {"poor_score": True}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, _SKLBase):
    """A scikit-learn regressor around a kerax model (Keras's ``keras.wrappers``).

    A 1-D ``y`` reaches the model as a column ``(n_samples, 1)``; ``predict`` returns
    1-D predictions for a one-unit output; ``score`` is scikit-learn's R^2.

    Args:
        model: a compiled kerax ``Model`` (cloned, weights fresh, before each fit), or a
            callable ``model(X=X, y=y, **model_kwargs)`` returning a compiled ``Model``.
        warm_start: when ``True``, a second ``fit`` goes on training the fitted model
            (``model_``) instead of building a new one.
        model_kwargs: keyword arguments for a callable ``model``.
        fit_kwargs: keyword arguments for ``model.fit`` (``epochs``, ``batch_size`` ...);
            those given to ``fit`` itself take precedence.

    Attributes:
        model_: the fitted ``Model``.
        history_: the ``History`` its ``fit`` returned.

    Raises:
        ImportError: when scikit-learn is not installed.
    """

    def _more_tags(self) -> dict:
        return {"poor_score": True}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, _SKLBase):
    """A scikit-learn transformer around a kerax model (Keras's ``keras.wrappers``).

    ``fit`` trains the model as ``SKLearnRegressor`` does; ``transform`` returns its
    outputs (an embedding step in a pipeline, say).

    Args:
        model, warm_start, model_kwargs, fit_kwargs: as for ``SKLearnRegressor``.

    Raises:
        ImportError: when scikit-learn is not installed.
    """

    def transform(self, X: Any) -> np.ndarray:
        """The fitted model's outputs for ``X``.

        Args:
            X: array-like, shape ``(n_samples, n_features)``.

        Returns:
            The model's predictions, shape ``(n_samples, ...)``.

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit``.
        """
        return self._raw_predict(X)

    def _more_tags(self) -> dict:
        return {"preserves_dtype": []}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
