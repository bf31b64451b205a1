"""The parts of ``FeatureSpace``: feature and cross specs, its two small layers, the
batches ``adapt`` reads, and its ``.keras`` file.

The specs and layers keep Keras's class names and config layout (``Feature``,
``Cross``, ``TFDIdentity``, ``TFDConcat`` from ``keras.src.layers.preprocessing
.feature_space``), so a FeatureSpace config or file moves between kerax and Keras 3.
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from typing import Any

import jax.numpy as jnp
import numpy as np

from kerax.layers import preprocessing as pp
from kerax.layers.base import Layer
from kerax.layers.preprocessing import _adapt

_MODULE = "keras.src.layers.preprocessing.feature_space"
_KERAS_BATCH = 32  # Keras's FeatureSpace.adapt batches unbatched samples by 32


class TFDIdentity(Layer):
    """The preprocessor of a ``"float"`` feature: returns its input (Keras's name)."""

    def call(self, inputs):
        return inputs


class TFDConcat(Layer):
    """Concatenates the encoded features along ``axis`` (Keras's name)."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return jnp.concatenate(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


_OWN_LAYERS = {"TFDIdentity": TFDIdentity, "TFDConcat": TFDConcat}


def _check_mode(value: Any, choices: tuple, owner: str) -> None:
    if value not in choices:
        raise ValueError(
            f"{owner}: invalid value for argument `output_mode`. Expected one of "
            f"{list(choices)}. Received: output_mode={value!r}"
        )


def serialize_layer(layer: Layer) -> dict:
    from kerax.saving.model_config import serialize_layer as serialize

    if isinstance(layer, (TFDIdentity, TFDConcat)):
        name = type(layer).__name__
        return {"module": _MODULE, "class_name": name, "config": layer.get_config(),
                "registered_name": name}  # fmt: skip
    return serialize(layer)


def deserialize_layer(config: Any) -> Any:
    from kerax.saving.model_config import deserialize_layer as deserialize

    if not isinstance(config, dict):
        return config
    return deserialize(config, custom_objects=_OWN_LAYERS)


class Feature:
    """One feature of a ``FeatureSpace``: its input dtype, its preprocessing layer, and
    how its output is encoded (``"int"``, ``"one_hot"`` or ``"float"``)."""

    def __init__(self, dtype: str, preprocessor: Any, output_mode: str):
        _check_mode(output_mode, ("int", "one_hot", "float"), "FeatureSpace.feature")
        preprocessor = deserialize_layer(preprocessor)
        if not callable(preprocessor):
            raise TypeError(
                "FeatureSpace.feature: preprocessor must be a layer (e.g. "
                f"keras.layers.StringLookup()). Received: preprocessor={preprocessor!r}"
            )
        self.dtype = dtype
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self) -> dict:
        return {
            "dtype": self.dtype,
            "preprocessor": serialize_layer(self.preprocessor),
            "output_mode": self.output_mode,
        }

    @classmethod
    def from_config(cls, config: dict) -> Feature:
        return cls(**config)


class Cross:
    """A cross of features, hashed into ``crossing_dim`` bins; named ``"a_X_b"``."""

    def __init__(self, feature_names: Any, crossing_dim: int, output_mode: str = "one_hot"):
        _check_mode(output_mode, ("int", "one_hot"), "FeatureSpace.cross")
        if isinstance(feature_names, str) or len(feature_names) < 2:
            raise ValueError(
                "FeatureSpace.cross: feature_names must name at least two features, e.g. "
                f"('a', 'b'). Received: feature_names={feature_names!r}"
            )
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict:
        return {
            "feature_names": list(self.feature_names),
            "crossing_dim": self.crossing_dim,
            "output_mode": self.output_mode,
        }

    @classmethod
    def from_config(cls, config: dict) -> Cross:
        return cls(**config)


def serialize_spec(spec: Feature | Cross) -> dict:
    name = type(spec).__name__
    return {"module": _MODULE, "class_name": name, "config": spec.get_config(),
            "registered_name": name}  # fmt: skip


def deserialize_spec(config: Any, kind: type) -> Any:
    """A ``Feature``/``Cross`` from its serialized dict (others are returned as given)."""
    if isinstance(config, dict) and config.get("class_name") == kind.__name__:
        return kind.from_config(dict(config.get("config") or {}))
    return config


# -- adapt ------------------------------------------------------------------------------
def adaptable(layer: Any) -> bool:
    """Whether ``adapt`` has something to learn for ``layer`` (given statistics, a given
    vocabulary or fixed bins have not)."""
    if isinstance(layer, pp.Normalization) and layer.input_mean is not None:
        return False
    lookup = getattr(layer, "_lookup_layer", layer)  # TextVectorization holds a lookup
    if getattr(lookup, "_has_input_vocabulary", False):
        return False
    if isinstance(layer, pp.Discretization) and layer.num_bins is None:
        return False
    return hasattr(layer, "adapt")


def cardinality(name: str, layer: Any) -> int:
    """The number of categories a one-hot feature's preprocessor outputs."""
    if isinstance(layer, (pp.IntegerLookup, pp.StringLookup)):
        return layer.vocabulary_size()
    if isinstance(layer, pp.CategoryEncoding):
        return layer.num_tokens
    if isinstance(layer, pp.Discretization):
        return layer.num_bins or len(layer.bin_boundaries) + 1
    if isinstance(layer, (pp.Hashing, pp.HashedCrossing)):
        return layer.num_bins
    raise ValueError(
        f"FeatureSpace: feature {name!r} has output_mode='one_hot', but its "
        f"preprocessor ({type(layer).__name__}) has no known number of categories, "
        "so it cannot be one-hot encoded. Use output_mode='int' (or 'float')."
    )


def _elements(data: Any) -> list[dict]:
    """The dict elements of ``data``: a dict of arrays is one element of many samples
    (flagged by ``None`` in the list's first place); an iterable of dict batches, or a
    ``PyDataset``, yields them (``(x, y)`` tuples use ``x``)."""
    if isinstance(data, dict):
        return [None, data]
    if isinstance(data, (str, bytes)) or _adapt._is_array(data):
        items = None
    elif (
        not hasattr(data, "__iter__") and hasattr(data, "__getitem__") and hasattr(data, "__len__")
    ):
        items = [data[i] for i in range(len(data))]  # a batch-indexed dataset (PyDataset)
    elif hasattr(data, "__iter__"):
        items = list(data)
    else:
        items = None
    if items is None or not all(isinstance(_adapt._first(b), dict) for b in items):
        raise TypeError(
            "FeatureSpace.adapt() takes a dict of arrays (one array per feature), or an "
            "iterable of dict batches (a list or generator of dicts, a PyDataset; (x, y) "
            f"tuples use x). Received: data of type {type(data).__name__}."
        )
    if not items:
        raise ValueError("FeatureSpace.adapt() received no batches.")
    return [_adapt._first(b) for b in items]


def feature_batches(data: Any, names: list[str]) -> dict[str, list[np.ndarray]]:
    """For each feature, the batches its preprocessor adapts on, as Keras forms them from
    a ``tf.data`` dataset: scalar samples batched by 32, rank-1 samples given a trailing
    axis (so that ``(batch,)`` becomes ``(batch, 1)``)."""
    elements = _elements(data)
    sliced = elements[0] is None
    out: dict[str, list[np.ndarray]] = {}
    for name in names:
        columns = []
        for element in elements[1:] if sliced else elements:
            if name not in element:
                raise ValueError(
                    f"FeatureSpace.adapt(): the data has no feature {name!r}. Every feature "
                    f"needs a value. Received keys: {sorted(element)}"
                )
            columns.append(np.asarray(element[name]))
        if sliced:  # tf.data.Dataset.from_tensor_slices: the samples are rows
            column = columns[0]
            if column.ndim == 0:
                raise ValueError(
                    f"FeatureSpace.adapt(): feature {name!r} is a scalar; a dict of arrays "
                    "needs one value per sample. Pass an array or a list."
                )
            if column.ndim == 1:
                columns = [
                    column[i : i + _KERAS_BATCH] for i in range(0, len(column), _KERAS_BATCH)
                ]
                columns = [c[:, None] for c in columns]
            else:
                columns = [row[..., None] if row.ndim == 1 else row for row in column]
        elif columns[0].ndim == 0:
            scalars = np.stack(columns)
            columns = [
                scalars[i : i + _KERAS_BATCH, None] for i in range(0, len(scalars), _KERAS_BATCH)
            ]
        elif columns[0].ndim == 1:
            columns = [c[:, None] for c in columns]
        out[name] = columns
    return out


# -- the .keras file -------------------------------------------------------------------
def save(feature_space: Any, filepath: Any) -> None:
    """Write ``feature_space`` as Keras does: its config, and its layers' variables in
    ``model.weights.h5`` at Keras's paths (``preprocessors/normalization/vars``)."""
    import kerax
    from kerax.saving import _io
    from kerax.saving.object_config import to_json
    from kerax.saving.weights_h5 import vars_path, walk, write_array

    path = _io.fspath(filepath)
    if not path.endswith(".keras"):
        raise ValueError(
            "FeatureSpace.save() writes a Keras 3 '.keras' file: the name must end in "
            f"'.keras'. Received: filepath={path!r}"
        )
    config = {"module": "keras.utils", "class_name": "FeatureSpace",
              "config": feature_space.get_config(), "registered_name": None,
              "build_config": feature_space.get_build_config()}  # fmt: skip
    metadata = {
        "kerax_version": kerax.__version__,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }
    import h5py

    weights = io.BytesIO()
    with h5py.File(weights, "w") as h5:
        for layer_path, layer in walk(feature_space):  # write_weights takes models only
            group = h5.create_group(vars_path(layer_path))
            group.attrs["name"] = layer.name
            store: dict[str, Any] = {}
            layer.save_own_variables(store)
            for key, value in store.items():
                write_array(group, key, value)
    with _io.atomic_write(path, True) as f, zipfile.ZipFile(f, "w") as zf:
        zf.writestr("metadata.json", json.dumps(metadata))
        zf.writestr("config.json", to_json(config))
        zf.writestr("model.weights.h5", weights.getbuffer())


def load(config: dict, archive: Any, source: str, custom_objects: dict | None = None) -> Any:
    """The FeatureSpace of a ``.keras`` file: its parsed config and open archive (a
    ``kerax.saving.saving_api._Archive``). Lookup vocabularies that Keras keeps in the
    archive's ``assets/`` are read as ``load_model`` reads them for models."""
    from kerax._serialization import CustomObjectScope
    from kerax.saving import assets
    from kerax.saving.saving_api import _open_h5
    from kerax.saving.weights_h5 import read_weights
    from kerax.utils.feature_space import FeatureSpace

    with CustomObjectScope(custom_objects or {}):  # custom preprocessing layers
        feature_space = FeatureSpace.from_config(dict(config.get("config") or {}))
    feature_space.build_from_config(config.get("build_config") or {})
    mode = "r+" if assets.has_idf_weights(feature_space) else "r"  # r+: an in-memory copy
    with _open_h5(io.BytesIO(archive.read("model.weights.h5")), source, mode) as h5:
        assets.load_lookup_assets(archive, feature_space, h5, source)
        read_weights(h5, feature_space, source=source, include_optimizer=False)
    return feature_space
