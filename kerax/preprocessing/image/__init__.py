"""``keras.preprocessing.image``: ImageDataGenerator, its iterators, and image helpers.

Keras's legacy (Keras 2 / ``tf.keras``) image augmentation API. ``load_img``,
``save_img``, ``array_to_img``, ``flow_from_directory`` and ``save_to_dir`` need Pillow
(optional), ``flow_from_dataframe`` Pillow and pandas; everything else runs on NumPy and JAX.
"""

from kerax import _lazy

_EXPORTS = {
    "kerax.preprocessing.image._generator": ("ImageDataGenerator",),
    "kerax.preprocessing.image._iterators": ("Iterator", "NumpyArrayIterator"),
    "kerax.preprocessing.image._directory": ("DirectoryIterator",),
    "kerax.preprocessing.image._dataframe": ("DataFrameIterator",),
    "kerax.preprocessing.image._affine": ("apply_affine_transform",),
    "kerax.preprocessing.image._transforms": (
        "apply_brightness_shift",
        "apply_channel_shift",
        "random_brightness",
        "random_channel_shift",
        "random_rotation",
        "random_shear",
        "random_shift",
        "random_zoom",
    ),
    "kerax.preprocessing.image._pil": ("array_to_img", "img_to_array", "load_img", "save_img"),
    "kerax.preprocessing.image._resize": ("smart_resize",),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)

__getattr__, __dir__ = _lazy.attach(__name__, _lazy.table(_EXPORTS))
