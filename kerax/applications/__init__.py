"""``keras.applications``: reference architectures with Keras's pretrained weights.

``VGG16``, ``VGG19``, ``ResNet50``/``ResNet101``/``ResNet152`` and ``MobileNetV2`` build
the networks with Keras's layer names and read Keras's ImageNet weight files (fetched
once into ``~/.keras/models``, or found there when Keras already downloaded them). Each
family has its submodule with the matching ``preprocess_input`` and
``decode_predictions`` (``keras.applications.vgg16``, ``keras.applications.resnet``,
``keras.applications.mobilenet_v2``). Nothing here is imported until first used.

Example:
    >>> import kerax as keras
    >>> base = keras.applications.VGG16(weights=None, include_top=False,
    ...                                 input_shape=(32, 32, 3))
    >>> [layer.name for layer in base.layers][1:3]
    ['block1_conv1', 'block1_conv2']
"""

from kerax import _lazy

__all__ = [
    "MobileNetV2",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "VGG16",
    "VGG19",
    "imagenet_utils",
    "mobilenet_v2",
    "resnet",
    "resnet50",
    "vgg16",
    "vgg19",
]

__getattr__, __dir__ = _lazy.attach(
    __name__,
    _lazy.table(
        {
            "kerax.applications.vgg": ("VGG16", "VGG19"),
            "kerax.applications.resnet": ("ResNet50", "ResNet101", "ResNet152"),
            "kerax.applications.mobilenet_v2": ("MobileNetV2",),
        }
    ),
    submodules=["imagenet_utils", "mobilenet_v2", "resnet", "resnet50", "vgg16", "vgg19"],
)
