"""Convolution layers with Keras's names, arguments and weight layouts.

Every class is a thin per-rank name over one rank-generic implementation
(``_base._Conv``) whose arithmetic is one function, ``_ops.conv``. Keras's long aliases
(``Convolution2D``, ``SeparableConvolution2D``, ``Convolution2DTranspose``, ...), which
Keras 2 tutorials use, name the same classes.
"""

from kerax.layers.convolution.conv import Conv1D as Conv1D
from kerax.layers.convolution.conv import Conv2D as Conv2D
from kerax.layers.convolution.conv import Conv3D as Conv3D
from kerax.layers.convolution.depthwise import DepthwiseConv1D as DepthwiseConv1D
from kerax.layers.convolution.depthwise import DepthwiseConv2D as DepthwiseConv2D
from kerax.layers.convolution.depthwise import SeparableConv1D as SeparableConv1D
from kerax.layers.convolution.depthwise import SeparableConv2D as SeparableConv2D
from kerax.layers.convolution.transpose import Conv1DTranspose as Conv1DTranspose
from kerax.layers.convolution.transpose import Conv2DTranspose as Conv2DTranspose
from kerax.layers.convolution.transpose import Conv3DTranspose as Conv3DTranspose

Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

__all__ = [
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "Convolution1D",
    "Convolution1DTranspose",
    "Convolution2D",
    "Convolution2DTranspose",
    "Convolution3D",
    "Convolution3DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
]
