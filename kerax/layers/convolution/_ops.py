"""The convolution every conv layer lowers to, and the choice of how XLA computes it.

One rank-generic function, :func:`conv`, computes an N-D cross-correlation with
Keras's kernel layout ``(*kernel_size, in_channels // groups, out_channels)``. It has
three *forms*, each a way to write the same sum:

- ``"xla"``: ``jax.lax.conv_general_dilated`` (XLA's convolution).
- ``"patches"``: im2col by strided slices (one per kernel offset), stacked, then one
  ``dot_general`` contracting ``(offsets, channels)``.
- ``"shifted"``: the same slices, each multiplied by its kernel tap and summed: no
  im2col buffer, ``prod(kernel_size)`` small matmuls.

A *lowering* is a pair ``(forward, kernel_gradient)`` of forms. It is a
``jax.custom_jvp`` whose tangent is ``conv_xla(dx, w) + form(x, dw)``: both terms
are linear in the tangent, so reverse mode transposes the first into XLA's own
input-gradient convolution and the second into a matmul (``patches``) or a sum of
matmuls (``shifted``) for the kernel gradient. Forward mode, ``jvp``, ``hessian``
and ``vmap`` keep working, which a ``custom_vjp`` would not allow. All forms add
the same products in a different order: results agree to float32 rounding.

Why (measured on the 2-core AVX-512 CPU this project is developed on, jax 0.10.2,
an MNIST convnet at batch 128, see ``benchmarks/conv_lowering.py``): XLA:CPU's
convolution is slow when the input has few channels (the first layer of an image
model, ``C=1``): its forward and especially its kernel gradient (a convolution with
a 26x26 window and 3x3 output) reach a few GFLOP/s, while a matmul over a tiny
im2col buffer runs at memory speed. With many channels XLA's convolution is as
fast as the matmul forms. :func:`choose_lowering` encodes that; GPU and TPU always
get XLA's convolution (cuDNN / the TPU convolution units).
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

FORMS = ("xla", "patches", "shifted")


class ConvSpec(NamedTuple):
    """Static description of a convolution (hashable: used as a ``custom_jvp`` argument).

    ``padding`` is explicit ``(low, high)`` pairs; ``lhs_dilation`` > 1 is a
    transposed convolution's input dilation.
    """

    strides: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    rhs_dilation: tuple[int, ...]
    lhs_dilation: tuple[int, ...]
    groups: int
    channels_last: bool


def explicit_padding(mode, sizes, kernel_size, strides, dilation):
    """``(low, high)`` pairs for Keras's ``valid`` / ``same`` / ``causal`` padding.

    ``same`` pads as ``lax``'s ``"SAME"`` (the odd element goes to the end) and
    ``causal`` pads only at the start, so that output ``t`` sees inputs ``<= t``.
    """
    pads = []
    for n, k, s, d in zip(sizes, kernel_size, strides, dilation):
        span = (k - 1) * d + 1
        if mode == "valid":
            pads.append((0, 0))
        elif mode == "causal":
            pads.append((span - 1, 0))
        else:
            total = max((-(-n // s) - 1) * s + span - n, 0)
            pads.append((total // 2, total - total // 2))
    return tuple(pads)


def output_sizes(sizes, kernel_size, spec):
    """Spatial output sizes of :func:`conv` (may be <= 0 for a too-small input)."""
    out = []
    for n, k, s, (lo, hi), d, ld in zip(
        sizes, kernel_size, spec.strides, spec.padding, spec.rhs_dilation, spec.lhs_dilation
    ):
        dilated = (n - 1) * ld + 1 + lo + hi
        out.append((dilated - ((k - 1) * d + 1)) // s + 1)
    return tuple(out)


def dimension_numbers(rank: int, channels_last: bool) -> lax.ConvDimensionNumbers:
    """``lax`` dimension numbers for ``N...C`` / ``NC...`` inputs and ``...IO`` kernels."""
    spatial = tuple(range(1, rank + 1)) if channels_last else tuple(range(2, rank + 2))
    lhs = (0, rank + 1, *spatial) if channels_last else (0, 1, *spatial)
    rhs = (rank + 1, rank, *range(rank))
    return lax.ConvDimensionNumbers(lhs, rhs, lhs)


def conv_xla(x, kernel, spec: ConvSpec):
    """XLA's convolution, the reference every other form is tested against."""
    rank = x.ndim - 2
    return lax.conv_general_dilated(
        x,
        kernel,
        window_strides=spec.strides,
        padding=spec.padding,
        lhs_dilation=spec.lhs_dilation,
        rhs_dilation=spec.rhs_dilation,
        dimension_numbers=dimension_numbers(rank, spec.channels_last),
        feature_group_count=spec.groups,
    )


def _slices(x, kernel_size, spec):
    """One strided window slice of the padded input per kernel offset, row-major order.

    Each slice is ``(batch, *out_spatial, channels)``: slice ``k`` holds, for every
    output position, the input element kernel tap ``k`` multiplies.
    """
    out = output_sizes(x.shape[1:-1], kernel_size, spec)
    pads = [(0, 0, 0), *((lo, hi, 0) for lo, hi in spec.padding), (0, 0, 0)]
    x = lax.pad(x, jnp.zeros((), x.dtype), pads)
    for offsets in itertools.product(*(range(k) for k in kernel_size)):
        start = (0, *(o * d for o, d in zip(offsets, spec.rhs_dilation)), 0)
        limit = (
            x.shape[0],
            *(b + (n - 1) * s + 1 for b, n, s in zip(start[1:-1], out, spec.strides)),
            x.shape[-1],
        )
        yield lax.slice(x, start, limit, (1, *spec.strides, 1))


def _grouped(kernel, groups):
    """Kernel ``(*k, Cg, O)`` as ``(K, Cg, G, O/G)``: output channel ``o`` is in group ``o // (O/G)``."""
    k_count = math.prod(kernel.shape[:-2])
    cg, o = kernel.shape[-2:]
    return kernel.reshape(k_count, cg, groups, o // groups)


def conv_patches(x, kernel, spec: ConvSpec):
    """im2col then one matmul (channels-last, no input dilation)."""
    g = spec.groups
    w = _grouped(kernel, g)  # (K, Cg, G, Og)
    p = jnp.stack(list(_slices(x, kernel.shape[:-2], spec)), axis=-2)  # (B, *out, K, C)
    p = p.reshape(*p.shape[:-1], g, w.shape[1])  # (B, *out, K, G, Cg)
    y = jnp.einsum("...kgc,kcgo->...go", p, w)
    return y.reshape(*y.shape[:-2], -1)


def conv_shifted(x, kernel, spec: ConvSpec):
    """A sum over kernel offsets of (shifted input slice) @ (kernel tap)."""
    g = spec.groups
    w = _grouped(kernel, g)
    y = None
    for k, s in enumerate(_slices(x, kernel.shape[:-2], spec)):
        s = s.reshape(*s.shape[:-1], g, w.shape[1])  # (B, *out, G, Cg)
        term = jnp.einsum("...gc,cgo->...go", s, w[k])
        y = term if y is None else y + term
    return y.reshape(*y.shape[:-2], -1)


_FORM_FNS = {"xla": conv_xla, "patches": conv_patches, "shifted": conv_shifted}


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _mixed(x, kernel, spec, lowering):
    return _FORM_FNS[lowering[0]](x, kernel, spec)


@functools.partial(_mixed.defjvp, symbolic_zeros=True)
def _mixed_jvp(spec, lowering, primals, tangents):
    x, kernel = primals
    dx, dkernel = tangents
    y = _FORM_FNS[lowering[0]](x, kernel, spec)
    zero = jax.custom_derivatives.SymbolicZero
    # Symbolic zeros keep a data input (no gradient) from costing a convolution of zeros.
    terms = []
    if not isinstance(dx, zero):
        terms.append(conv_xla(dx, kernel, spec))
    if not isinstance(dkernel, zero):
        terms.append(_FORM_FNS[lowering[1]](x, dkernel, spec))
    if not terms:
        return y, jnp.zeros_like(y)
    return y, terms[0] if len(terms) == 1 else terms[0] + terms[1]


def choose_lowering(backend: str, x_shape, kernel_shape, spec: ConvSpec) -> tuple[str, str]:
    """``(forward, kernel_gradient)`` forms for this convolution on ``backend``.

    XLA's convolution everywhere except on CPU for channels-last, non-transposed
    convolutions whose groups hold few input channels (``Cg <= 4``: the first layer
    of an image model), where the matmul forms win. Measured on the MNIST convnet's
    first layer (28x28x1 -> 32 filters 3x3, batch 128, whole train step, see
    ``benchmarks/conv_lowering.py`` for the numbers).
    """
    if backend != "cpu" or not spec.channels_last or any(d != 1 for d in spec.lhs_dilation):
        return ("xla", "xla")
    if kernel_shape[-2] <= 4:
        return ("shifted", "patches")
    return ("xla", "xla")


def conv(x, kernel, spec: ConvSpec, lowering: tuple[str, str] | None = None):
    """Convolve ``x`` with ``kernel`` (``(*k, C/groups, O)``) as ``spec`` says.

    Args:
        x: ``(batch, *spatial, C)`` or, with ``channels_last=False``, ``(batch, C, *spatial)``.
        kernel: ``(*kernel_size, C // groups, O)``.
        spec: a :class:`ConvSpec`.
        lowering: ``(forward, kernel_gradient)`` forms from :data:`FORMS`; default
            :func:`choose_lowering` for the default backend.

    Returns:
        ``(batch, *out_spatial, O)`` (or channels-first).
    """
    if lowering is None:
        lowering = choose_lowering(jax.default_backend(), x.shape, kernel.shape, spec)
    lowering = tuple(lowering)
    if any(f not in FORMS for f in lowering) or len(lowering) != 2:
        raise ValueError(f"A lowering is a pair of forms from {FORMS}. Received: {lowering}")
    if lowering == ("xla", "xla"):
        return conv_xla(x, kernel, spec)
    if not spec.channels_last or any(d != 1 for d in spec.lhs_dilation):
        raise ValueError(
            "The matmul forms need channels-last inputs and no input dilation. "
            f"Received: lowering={lowering}, spec={spec}"
        )
    return _mixed(x, kernel, spec, lowering)
