"""``keras.applications``: reference architectures with Keras's pretrained weights.

``VGG16``, ``VGG19``, ``ResNet50``/``ResNet101``/``ResNet152``,
``ResNet50V2``/``ResNet101V2``/``ResNet152V2``, ``DenseNet121``/``DenseNet169``/
``DenseNet201``, ``MobileNet``, ``MobileNetV2``, ``MobileNetV3Small``/``MobileNetV3Large``,
``Xception``, ``InceptionV3``, ``InceptionResNetV2``, ``NASNetMobile``/``NASNetLarge``,
``EfficientNetB0`` .. ``EfficientNetB7``,
``EfficientNetV2B0`` .. ``EfficientNetV2B3``/``EfficientNetV2S``/``EfficientNetV2M``/
``EfficientNetV2L`` and ``ConvNeXtTiny``/``ConvNeXtSmall``/``ConvNeXtBase``/
``ConvNeXtLarge``/``ConvNeXtXLarge`` build the networks with Keras's layer names and read
Keras's ImageNet weight files (fetched once into ``~/.keras/models``, or found there when
Keras already downloaded them). Each family has its submodule with the matching
``preprocess_input`` and ``decode_predictions`` (``keras.applications.vgg16``,
``keras.applications.resnet``, ``keras.applications.resnet_v2``,
``keras.applications.densenet``, ``keras.applications.mobilenet``,
``keras.applications.mobilenet_v2``, ``keras.applications.mobilenet_v3``,
``keras.applications.xception``, ``keras.applications.inception_v3``,
``keras.applications.inception_resnet_v2``, ``keras.applications.nasnet``,
``keras.applications.efficientnet``, ``keras.applications.efficientnet_v2``,
``keras.applications.convnext``). Nothing here is
imported until first used.

Example:
    >>> import kerax as keras
    >>> base = keras.applications.VGG16(weights=None, include_top=False,
    ...                                 input_shape=(32, 32, 3))
    >>> [layer.name for layer in base.layers][1:3]
    ['block1_conv1', 'block1_conv2']
"""

from kerax import _lazy

__all__ = [
    "ConvNeXtBase",
    "ConvNeXtLarge",
    "ConvNeXtSmall",
    "ConvNeXtTiny",
    "ConvNeXtXLarge",
    "DenseNet121",
    "DenseNet169",
    "DenseNet201",
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "EfficientNetB4",
    "EfficientNetB5",
    "EfficientNetB6",
    "EfficientNetB7",
    "EfficientNetV2B0",
    "EfficientNetV2B1",
    "EfficientNetV2B2",
    "EfficientNetV2B3",
    "EfficientNetV2L",
    "EfficientNetV2M",
    "EfficientNetV2S",
    "InceptionResNetV2",
    "InceptionV3",
    "MobileNet",
    "MobileNetV2",
    "MobileNetV3Large",
    "MobileNetV3Small",
    "NASNetLarge",
    "NASNetMobile",
    "ResNet50",
    "ResNet50V2",
    "ResNet101",
    "ResNet101V2",
    "ResNet152",
    "ResNet152V2",
    "VGG16",
    "VGG19",
    "Xception",
    "convnext",
    "densenet",
    "efficientnet",
    "efficientnet_v2",
    "imagenet_utils",
    "inception_resnet_v2",
    "inception_v3",
    "mobilenet",
    "mobilenet_v2",
    "mobilenet_v3",
    "nasnet",
    "resnet",
    "resnet50",
    "resnet_v2",
    "vgg16",
    "vgg19",
    "xception",
]

__getattr__, __dir__ = _lazy.attach(
    __name__,
    _lazy.table(
        {
            "kerax.applications.vgg": ("VGG16", "VGG19"),
            "kerax.applications.resnet": ("ResNet50", "ResNet101", "ResNet152"),
            "kerax.applications.mobilenet_v2": ("MobileNetV2",),
            "kerax.applications.resnet_v2": ("ResNet50V2", "ResNet101V2", "ResNet152V2"),
            "kerax.applications.densenet": ("DenseNet121", "DenseNet169", "DenseNet201"),
            "kerax.applications.mobilenet": ("MobileNet",),
            "kerax.applications.xception": ("Xception",),
            "kerax.applications.inception_v3": ("InceptionV3",),
            "kerax.applications.inception_resnet_v2": ("InceptionResNetV2",),
            "kerax.applications.nasnet": ("NASNetMobile", "NASNetLarge"),
            "kerax.applications.mobilenet_v3": ("MobileNetV3Small", "MobileNetV3Large"),
            "kerax.applications.efficientnet": tuple(f"EfficientNetB{i}" for i in range(8)),
            "kerax.applications.efficientnet_v2": (
                "EfficientNetV2B0",
                "EfficientNetV2B1",
                "EfficientNetV2B2",
                "EfficientNetV2B3",
                "EfficientNetV2S",
                "EfficientNetV2M",
                "EfficientNetV2L",
            ),
            "kerax.applications.convnext": (
                "ConvNeXtTiny",
                "ConvNeXtSmall",
                "ConvNeXtBase",
                "ConvNeXtLarge",
                "ConvNeXtXLarge",
            ),
        }
    ),
    submodules=[
        "convnext",
        "densenet",
        "efficientnet",
        "efficientnet_v2",
        "imagenet_utils",
        "inception_resnet_v2",
        "inception_v3",
        "mobilenet",
        "mobilenet_v2",
        "mobilenet_v3",
        "nasnet",
        "resnet",
        "resnet50",
        "resnet_v2",
        "vgg16",
        "vgg19",
        "xception",
    ],
)
