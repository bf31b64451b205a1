"""``keras.utils``: helpers for data, labels, files, seeds, serialization and images."""

from kerax import _lazy

_EXPORTS = {
    "kerax._serialization": (
        "CustomObjectScope",
        "custom_object_scope",
        "get_custom_objects",
        "get_registered_name",
        "get_registered_object",
        "register_keras_serializable",
    ),
    "kerax.saving.serialization": ("deserialize_keras_object", "serialize_keras_object"),
    "kerax.backend": ("clear_session", "is_keras_tensor", "standardize_dtype"),
    "kerax.config": (
        "disable_interactive_logging",
        "enable_interactive_logging",
        "is_interactive_logging_enabled",
    ),
    "kerax.preprocessing.image._pil": ("array_to_img", "img_to_array", "load_img", "save_img"),
    "kerax.utils._config": ("Config",),
    "kerax.utils._datasets": (
        "ArrayDataset",
        "TimeseriesDataset",
        "split_dataset",
        "timeseries_dataset_from_array",
    ),
    "kerax.utils._directory": (
        "audio_dataset_from_directory",
        "image_dataset_from_directory",
        "text_dataset_from_directory",
    ),
    "kerax.utils._files": ("get_file",),
    "kerax.utils.feature_space": ("FeatureSpace",),
    "kerax.utils._numerical": ("normalize", "to_categorical"),
    "kerax.utils._plot": ("model_to_dot", "plot_model"),
    "kerax.utils._rng": ("set_random_seed",),
    "kerax.utils._sequence": ("pad_sequences",),
    "kerax.utils._structure": (
        "get_source_inputs",
        "pack_x_y_sample_weight",
        "unpack_x_y_sample_weight",
    ),
    "kerax.utils.progbar": ("Progbar",),
    "kerax.utils.py_dataset": ("PyDataset",),
}
_ALIASES = {"Sequence": "PyDataset"}  # Keras 3 keeps Sequence as PyDataset's old name
__all__ = sorted([name for names in _EXPORTS.values() for name in names] + list(_ALIASES))

_getattr, _dir = _lazy.attach(
    __name__, _lazy.table(_EXPORTS), submodules=["bounding_boxes", "legacy"]
)


def __dir__() -> list[str]:
    return sorted(set(_dir()) | set(_ALIASES))


def __getattr__(name: str):
    if name in _ALIASES:
        value = _getattr(_ALIASES[name])
        globals()[name] = value
        return value
    return _getattr(name)
