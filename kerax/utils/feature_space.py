"""``keras.utils.FeatureSpace``: preprocessing and encoding of structured data.

A FeatureSpace maps a dict of raw feature columns (numbers and strings) to one float
vector per sample (or a dict of encoded features), built from kerax's preprocessing
layers: ``Normalization``, ``Rescaling``, ``Discretization``, ``StringLookup``,
``IntegerLookup``, ``Hashing``, ``HashedCrossing`` and ``CategoryEncoding``. Several of
those run on the host (strings cannot live in JAX arrays), so the FeatureSpace runs on
the host too: call it on the data, then train a model on the arrays it returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kerax import _naming
from kerax.layers.base import Layer
from kerax.layers.preprocessing import (
    CategoryEncoding,
    Discretization,
    HashedCrossing,
    Hashing,
    IntegerLookup,
    Normalization,
    Rescaling,
    StringLookup,
)
from kerax.utils import _feature_specs as specs
from kerax.utils._feature_specs import Cross, Feature, TFDConcat, TFDIdentity

_TYPES = (
    "float",
    "float_normalized",
    "float_rescaled",
    "float_discretized",
    "integer_categorical",
    "string_categorical",
    "integer_hashed",
    "string_hashed",
)


class FeatureSpace(Layer):
    """Preprocesses and encodes a dict of structured-data features (Keras's FeatureSpace).

    Args:
        features: a dict from feature name to its type, a name (``"float"``,
            ``"float_normalized"``, ``"float_rescaled"``, ``"float_discretized"``,
            ``"integer_categorical"``, ``"string_categorical"``, ``"integer_hashed"``,
            ``"string_hashed"``) or a spec (``FeatureSpace.string_categorical(
            max_tokens=10)``, ``FeatureSpace.feature(dtype, preprocessor, output_mode)``).
        output_mode: ``"concat"`` (one float vector per sample, the features in sorted
            name order, then the crosses) or ``"dict"`` (a dict of encoded features).
        crosses: feature crosses, as tuples of names (``("a", "b")``) or
            ``FeatureSpace.cross(...)`` specs; a cross hashes the combined preprocessed
            values into ``crossing_dim`` bins.
        crossing_dim: the bins of crosses given as tuples (default 32).
        hashing_dim: the bins of ``"integer_hashed"``/``"string_hashed"`` (default 32).
        num_discretization_bins: the bins of ``"float_discretized"`` (default 32).
        name: the FeatureSpace's name.

    Call :meth:`adapt` on the data first (it learns vocabularies, statistics and bin
    boundaries), then call the FeatureSpace on a dict of arrays, lists or scalars (one
    sample or a batch). It runs on the host and returns JAX arrays.

    Example:
        >>> import numpy as np
        >>> data = {"x": np.array([0.0, 1.0, 2.0, 3.0]), "c": np.array(["a", "b", "a", "c"])}
        >>> fs = FeatureSpace({"x": "float_normalized", "c": "string_categorical"})
        >>> fs.adapt(data)
        >>> fs(data).shape
        (4, 5)
    """

    # -- feature types --------------------------------------------------------------------
    @classmethod
    def cross(cls, feature_names: Any, crossing_dim: int, output_mode: str = "one_hot") -> Cross:
        """A cross of two or more features, hashed into ``crossing_dim`` bins."""
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype: str, preprocessor: Any, output_mode: str) -> Feature:
        """A feature preprocessed by any layer (``output_mode``: int/one_hot/float)."""
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name: str | None = None) -> Feature:
        name = name or _naming.unique_name("float")
        layer = TFDIdentity(dtype="float32", name=f"{name}_preprocessor")
        return Feature("float32", layer, "float")

    @classmethod
    def float_rescaled(cls, scale: Any = 1.0, offset: Any = 0.0, name: str | None = None):
        name = name or _naming.unique_name("float_rescaled")
        layer = Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor")
        return Feature("float32", layer, "float")

    @classmethod
    def float_normalized(cls, name: str | None = None) -> Feature:
        name = name or _naming.unique_name("float_normalized")
        return Feature("float32", Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(
        cls, num_bins: int, bin_boundaries: Any = None, output_mode: str = "one_hot", name=None
    ) -> Feature:
        """Bins learned by ``adapt`` (``num_bins``), or fixed ``bin_boundaries`` (Keras
        3.15 refuses those: it passes both to ``Discretization``)."""
        name = name or _naming.unique_name("float_discretized")
        layer = Discretization(
            num_bins=None if bin_boundaries is not None else num_bins,
            bin_boundaries=bin_boundaries,
            name=f"{name}_preprocessor",
        )
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(
        cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None
    ) -> Feature:
        name = name or _naming.unique_name("integer_categorical")
        layer = IntegerLookup(
            name=f"{name}_preprocessor", max_tokens=max_tokens, num_oov_indices=num_oov_indices
        )
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(
        cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None
    ) -> Feature:
        name = name or _naming.unique_name("string_categorical")
        layer = StringLookup(
            name=f"{name}_preprocessor", max_tokens=max_tokens, num_oov_indices=num_oov_indices
        )
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins: int, output_mode: str = "one_hot", name=None) -> Feature:
        name = name or _naming.unique_name("string_hashed")
        return Feature(
            "string", Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode
        )

    @classmethod
    def integer_hashed(cls, num_bins: int, output_mode: str = "one_hot", name=None) -> Feature:
        name = name or _naming.unique_name("integer_hashed")
        return Feature(
            "int32", Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode
        )

    # -- construction ------------------------------------------------------------------------
    def __init__(
        self,
        features: dict,
        output_mode: str = "concat",
        crosses: Any = None,
        crossing_dim: int = 32,
        hashing_dim: int = 32,
        num_discretization_bins: int = 32,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if not features or not isinstance(features, dict):
            raise ValueError(
                "FeatureSpace: `features` must be a non-empty dict from feature name to "
                f"type, e.g. {{'age': 'float_normalized'}}. Received: features={features!r}"
            )
        if output_mode not in ("dict", "concat"):
            raise ValueError(
                "FeatureSpace: invalid value for argument `output_mode`. Expected one of "
                f"['dict', 'concat']. Received: output_mode={output_mode!r}"
            )
        self.output_mode = output_mode
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {n: self._standardize_feature(n, f) for n, f in features.items()}
        self.crosses = [self._standardize_cross(c) for c in crosses or []]
        self.crosses_by_name = {c.name: c for c in self.crosses}
        self.preprocessors = {n: f.preprocessor for n, f in self.features.items()}
        self.crossers = {c.name: HashedCrossing(c.crossing_dim, name=c.name) for c in self.crosses}
        self.one_hot_encoders: dict[str, CategoryEncoding] = {}
        self.concat = None
        self._is_adapted = False
        self._sublayers_built = False
        self._inputs: dict | None = None
        self.encoded_features = None

    def _standardize_feature(self, name: str, feature: Any) -> Feature:
        feature = specs.deserialize_spec(feature, Feature)
        if isinstance(feature, Feature):
            return feature
        if feature not in _TYPES:
            raise ValueError(
                f"FeatureSpace: invalid type for feature {name!r}. Expected one of "
                f"{list(_TYPES)} or a FeatureSpace.<type>(...) spec. Received: {feature!r}"
            )
        if feature == "float_discretized":
            return self.float_discretized(num_bins=self.num_discretization_bins, name=name)
        if feature.endswith("_hashed"):
            return getattr(self, feature)(self.hashing_dim, name=name)
        return getattr(self, feature)(name=name)

    def _standardize_cross(self, cross: Any) -> Cross:
        cross = specs.deserialize_spec(cross, Cross)
        if not isinstance(cross, Cross):
            if not self.crossing_dim:
                raise ValueError(
                    "FeatureSpace: crosses given as tuples of names need `crossing_dim` "
                    f"(the number of hash bins). Received: crossing_dim={self.crossing_dim!r}"
                )
            cross = Cross(cross, crossing_dim=self.crossing_dim)
        unknown = [n for n in cross.feature_names if n not in self.features]
        if unknown:
            raise ValueError(
                "FeatureSpace: every feature named in `crosses` must be in `features`. "
                f"Received unknown features {unknown} in cross {cross.feature_names}; "
                f"the features are {sorted(self.features)}."
            )
        return cross

    # -- adapt -----------------------------------------------------------------------------
    def _adaptable(self) -> list[str]:
        return [n for n, layer in self.preprocessors.items() if specs.adaptable(layer)]

    def adapt(self, dataset: Any) -> None:
        """Learn each preprocessor's state (vocabularies, mean and variance, bins).

        Args:
            dataset: a dict of arrays or lists (one per feature, one row per sample), or
                an iterable of dict batches (a list or generator of dicts, a
                ``PyDataset``; ``(x, y)`` batches use ``x``). It is read once.
        """
        names = self._adaptable()
        if names:
            for name, batches in specs.feature_batches(dataset, names).items():
                self.preprocessors[name].adapt(iter(batches))  # a list would be one array
        self._is_adapted = True
        # A new vocabulary changes the one-hot sizes: rebuild (Keras keeps the first ones).
        self._sublayers_built, self.encoded_features = False, None
        self._build_encoders()

    def _check_if_adapted(self) -> None:
        if not self._is_adapted:
            if self._adaptable():
                raise ValueError(
                    f"FeatureSpace '{self.name}': call .adapt(dataset) before using it (the "
                    f"features {self._adaptable()} learn their state from data)."
                )
            self._is_adapted = True

    def _build_encoders(self) -> None:
        """Create the one-hot encoders and the concatenation, once adapted (as Keras)."""
        self._check_if_adapted()
        if self._sublayers_built:
            return
        self._names = sorted(self.features) + sorted(self.crosses_by_name)
        encoders = {}
        for name in self._names:
            spec = self.features.get(name) or self.crosses_by_name[name]
            if spec.output_mode == "one_hot":
                layer = self.preprocessors.get(name) or self.crossers[name]
                size = specs.cardinality(name, layer)
                encoders[name] = CategoryEncoding(num_tokens=size, output_mode="multi_hot")
        self.one_hot_encoders = encoders
        if self.output_mode == "concat":
            self.concat = TFDConcat(axis=-1)
        self._sublayers_built = True
        self.built = True

    # -- calling -----------------------------------------------------------------------------
    def _prepare(self, data: Any) -> tuple[dict, bool]:
        if not isinstance(data, dict):
            raise ValueError(
                "A FeatureSpace can only be called on a dict of features. Received: data "
                f"of type {type(data).__name__}."
            )
        missing = sorted(set(self.features) - set(data))
        unknown = sorted(set(data) - set(self.features))
        if missing or unknown:
            raise ValueError(
                f"FeatureSpace '{self.name}' takes a dict with exactly the keys "
                f"{sorted(self.features)}. Missing: {missing}; unknown: {unknown}."
            )
        out, rebatched = {}, False
        for name, value in data.items():
            x = np.asarray(value)
            if x.dtype.kind in "fiub" and self.features[name].dtype == "float32":
                x = x.astype("float32")
            if x.ndim == 0:
                x, rebatched = x.reshape(1, 1), True
            elif x.ndim == 1:
                x = x[:, None]
            out[name] = x
        return out, rebatched

    def __call__(self, data: dict) -> Any:
        """Encode a dict of features: arrays or lists (a batch) or scalars (one sample).

        Returns:
            In ``"concat"`` mode a float32 array ``(batch, dim)`` (``(dim,)`` for one
            sample); in ``"dict"`` mode a dict of arrays keyed by feature and cross name.
        """
        self._build_encoders()
        inputs, rebatched = self._prepare(data)
        values = {n: self.preprocessors[n](inputs[n]) for n in self.features}
        for cross in self.crosses:
            values[cross.name] = self.crossers[cross.name]([values[n] for n in cross.feature_names])
        encoded = {}
        for name in self._names:
            value = values[name]
            if name in self.one_hot_encoders:
                kind = np.dtype(getattr(value, "dtype", "float32")).kind
                if kind not in "iu":
                    raise ValueError(
                        f"FeatureSpace: feature {name!r} has output_mode='one_hot', so its "
                        "preprocessor should return integers. It returns dtype "
                        f"{value.dtype}."
                    )
                value = self.one_hot_encoders[name](value)
            encoded[name] = value
        if self.output_mode == "dict":
            if rebatched:
                encoded = {
                    k: v[0] if v.ndim == 2 and v.shape[0] == 1 else v for k, v in encoded.items()
                }
            return encoded
        for name, value in encoded.items():
            if not np.issubdtype(np.dtype(value.dtype), np.floating):
                raise ValueError(
                    f"FeatureSpace: cannot concatenate feature {name!r}: it is not encoded (it "
                    f"has dtype {value.dtype}). Use output_mode='dict', or a one_hot/float "
                    "output_mode for that feature."
                )
        merged = self.concat([encoded[n] for n in self._names])
        return merged[0] if rebatched else merged

    # -- the functional API -------------------------------------------------------------------
    def get_inputs(self) -> dict:
        """A ``keras.Input`` of shape ``(1,)`` per feature (kerax has no string inputs,
        so a FeatureSpace with string features raises: see ``get_encoded_features``)."""
        from kerax.layers.core import Input

        self._build_encoders()
        strings = sorted(n for n, f in self.features.items() if f.dtype == "string")
        if strings:
            raise ValueError(
                f"FeatureSpace '{self.name}': features {strings} hold strings, which kerax "
                "inputs (JAX arrays) cannot. Build the model on get_encoded_features() "
                "and call it on feature_space(raw_data) instead of on the raw data."
            )
        if self._inputs is None:
            self._inputs = {n: Input((1,), dtype=f.dtype, name=n) for n, f in self.features.items()}
        return self._inputs

    def get_encoded_features(self) -> Any:
        """Symbolic inputs shaped like the encoded features, to build a model on.

        Keras traces the FeatureSpace's layers inside the model; kerax runs it on the
        host, so these are the model's inputs (``keras.Input``): build ``keras.Model(
        encoded_features, outputs)`` and train it on ``feature_space(raw_data)``.
        """
        from kerax.layers.core import Input

        self._build_encoders()
        if self.encoded_features is None:
            sample = self({n: self._sample_value(n) for n in self.features})
            if self.output_mode == "concat":
                self.encoded_features = Input((int(sample.shape[-1]),), dtype=sample.dtype)
            else:
                self.encoded_features = {
                    n: Input(tuple(v.shape[1:]), dtype=v.dtype, name=n) for n, v in sample.items()
                }
        return self.encoded_features

    def _sample_value(self, name: str) -> np.ndarray:
        """One batch of one sample that every preprocessor accepts (a known token)."""
        feature, layer = self.features[name], self.preprocessors[name]
        vocabulary = getattr(layer, "get_vocabulary", lambda: [])()
        if vocabulary:
            return np.asarray([vocabulary[-1]])
        return np.asarray([{"string": "", "int32": 0}.get(feature.dtype, 0.0)])

    # -- config and saving --------------------------------------------------------------------
    def get_config(self) -> dict:
        return {
            "features": {n: specs.serialize_spec(f) for n, f in self.features.items()},
            "output_mode": self.output_mode,
            "crosses": [specs.serialize_spec(c) for c in self.crosses],
            "crossing_dim": self.crossing_dim,
            "hashing_dim": self.hashing_dim,
            "num_discretization_bins": self.num_discretization_bins,
        }

    @classmethod
    def from_config(cls, config: dict) -> FeatureSpace:
        return cls(**config)

    def get_build_config(self) -> dict:
        """Each preprocessor's input shape (Keras's layout), so a loaded Normalization can
        be built before its mean and variance are read."""
        out = {}
        for name, layer in self.preprocessors.items():
            shape = getattr(layer, "_build_shape", None) or (None, 1)
            out[name] = {"input_shape": list(shape)}
        return out

    def build_from_config(self, config: dict) -> None:
        for name, build in (config or {}).items():
            layer = self.preprocessors.get(name)
            shape = (build or {}).get("input_shape")
            if isinstance(layer, Normalization) and not layer.built and shape is not None:
                layer.build(tuple(shape))
        self._is_adapted = True  # the encoders are built on the first call, as in Keras

    def save(self, filepath: Any) -> None:
        """Save to a ``.keras`` file; ``keras.saving.load_model`` reads it back."""
        specs.save(self, filepath)
