"""The convolution every conv layer lowers to, and the choice of how XLA computes it.

One rank-generic function, :func:`conv`, computes an N-D cross-correlation with
Keras's kernel layout ``(*kernel_size, in_channels // groups, out_channels)``. It has
three *forms*, each a way to write the same sum:

- ``"xla"``: ``jax.lax.conv_general_dilated`` (XLA's convolution).
- ``"patches"``: im2col by strided slices (one per kernel offset), stacked, then one
  ``dot_general`` contracting ``(offsets, channels)``.
- ``"shifted"``: the same slices, each multiplied by its kernel tap and summed. With
  one input channel per group (``C=1``, or a depthwise convolution) every tap is a
  broadcast multiply, and XLA fuses the whole sum into one elementwise loop.

A *lowering* is a triple ``(forward, input_gradient, kernel_gradient)`` of forms,
implemented as a ``jax.custom_jvp`` whose tangent is ``form_dx(dx, w) + form_dw(x,
dw)``. Both terms are linear in the tangent, so reverse mode transposes them into
the chosen input- and kernel-gradient computations (XLA's own backward convolutions
for ``"xla"``; pads and adds of slices, or a transposed matmul, for the others).
Forward mode, ``jvp``, ``hessian`` and ``vmap`` keep working, which a
``custom_vjp`` would not allow. All forms add the same products in a different
order: results agree to float32 rounding (tested against ``lax`` and Keras).

Why: on CPU (jax 0.10.2, XLA:CPU with YNNPACK, a 2-core AVX-512 machine) XLA's
convolution is slow exactly where a channel contraction has size 1. Best-of-5 times
of single passes (``benchmarks/conv_lowering.py --breakdown``), in ms, the chosen
form in bold:

=============================================  =======  =========  ===========
pass (3x3, stride 1)                            xla      shifted    patches
=============================================  =======  =========  ===========
28x28x1 -> 32, batch 128: forward                 0.80    **0.33**       1.06
  kernel gradient                               **3.10**      3.44       3.01
13x13x32 -> 64, batch 128: forward              **4.59**      9.74       3.81
  input gradient                                  2.69      2.27       2.55
  kernel gradient                               **7.25**      6.63       8.05
depthwise 28x28x64, batch 32: forward             25.8    **0.51**       37.6
  input gradient                                  35.4    **0.85**       1.49
  kernel gradient                                 36.4   **18.95**       41.7
=============================================  =======  =========  ===========

Single passes mislead (the issue's warning): inside the whole MNIST train step
(``value_and_grad`` + Adam, batch 128, forms alternated A/B) only the first layer's
``"shifted"`` forward pays off, 1.6-1.7x the step's samples/s with ``reduce``-based
pooling after it, 1.04x once the pooling is elementwise too (``pooling._ops``); every
other form for the second layer made the step slower (0.60-0.76x of the same step
with XLA there), as did ``"patches"`` or ``"shifted"`` for the first layer's kernel
gradient (0.68x, 0.40x).

Why the matmul forms lose in a whole step, measured with ``jax.profiler`` per op on
one core: (1) XLA:CPU fuses a concatenate of three slices but not of nine, and an
unfused concatenate costs several times the matmul it feeds, so im2col of a 3x3
kernel is slow; one matmul per kernel row (three-way concatenates, three dots) beat
XLA's kernel gradient alone (0.7-0.9x its time) but not inside the step (1.0-1.1x).
(2) Each dispatch ``malloc``s the program's scratch buffer; past glibc's largest
``mmap`` threshold (32 MiB) every step maps fresh pages and pays a page fault per
4 KiB (here ~0.45 ms per MiB). The step's scratch is 21.5 MiB; forms that keep an
im2col alive for the backward pass push it to 42-48 MiB and ran 1.6-1.8x slower
for that reason alone. (3) XLA routes 2-D float convolutions to YNNPACK, which ran
the second layer's forward and kernel gradient ~1.6-2x slower than Eigen did with
``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=`` (the step 17.5 ms instead of
22 ms on one core); a library must not set that flag, and writing the convolution
so that XLA skips YNNPACK (one rank up; a kernel larger than its input) landed on
far slower paths (2.5x; 27x).
Depthwise convolutions (3x3, one core, whole ``value_and_grad``) run 3-12x faster
with all three passes ``"shifted"``.
A kernel larger than its input in every spatial dimension (VGG16's last block on 32x32
images sees 2x2 maps; any network's last stage on small images) makes XLA swap the
convolution's operands, the input becoming the window (``rhs_reversal`` in the
optimized HLO), a path that ran the forward and the input gradient far slower on a
2-core AVX2 machine: batch 32, 2x2x512 -> 512, 3x3, 408 ms (XLA) against 5.6 ms
(``"patches"``) forward and 405 against 6.7 ms input gradient; 1x1x512, 13 against 3.1
ms; a length-3 sequence under a width-5 kernel, 15.5 against 0.7 ms; 2x5 maps under a
3x3 kernel (not smaller in every dimension) stay fast with XLA. Its kernel gradient is
not affected (5.2 against 7.0 ms), so it stays XLA's. VGG16's forward over 256 such
images took 11.8 s before, 1.9 s with this. The input gradient is a convolution over
the output's gradient, so it is the output's size that counts there: a 3x3, stride-2
convolution of 4x4x128 maps (2x2 outputs) took 9.1 ms (XLA) against 0.7 ms
(``"patches"``), of 8x8 maps (4x4 outputs) 1.9 against 1.7 ms. A transposed
convolution slides over its input dilated by the stride (interior padding in the
``"patches"`` slices): ``Conv2DTranspose(128, 4, strides=2, padding="same")`` of 2x2x256
maps, batch 32, took 28.9 ms forward (XLA) against 7.6 ms; of 4x4 maps (7x7 dilated)
XLA's 6.4 ms is the faster. Its input gradient (a strided convolution of the larger
output) stays XLA's: 2.6 ms there.
GPU and TPU always get XLA's convolution (cuDNN / the TPU convolution units).
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
XLA = ("xla", "xla", "xla")


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
    # A transposed convolution's input dilation is interior padding.
    inner = ((lo, hi, d - 1) for (lo, hi), d in zip(spec.padding, spec.lhs_dilation))
    pads = [(0, 0, 0), *inner, (0, 0, 0)]
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
    """Kernel ``(*k, Cg, O)`` as ``(K, Cg, G, O/G)``; output channel ``o`` is in group
    ``o // (O/G)``."""
    k_count = math.prod(kernel.shape[:-2])
    cg, o = kernel.shape[-2:]
    return kernel.reshape(k_count, cg, groups, o // groups)


def conv_patches(x, kernel, spec: ConvSpec):
    """im2col then one matmul (channels-last)."""
    g = spec.groups
    w = _grouped(kernel, g)  # (K, Cg, G, Og)
    p = jnp.stack(list(_slices(x, kernel.shape[:-2], spec)), axis=-2)  # (B, *out, K, C)
    if g == 1:  # a plain matmul: a size-1 group axis would make it a slow batched dot
        return jnp.tensordot(p, w[:, :, 0], axes=((p.ndim - 2, p.ndim - 1), (0, 1)))
    p = p.reshape(*p.shape[:-1], g, w.shape[1])  # (B, *out, K, G, Cg)
    y = jnp.einsum("...kgc,kcgo->...go", p, w)
    return y.reshape(*y.shape[:-2], -1)


def conv_shifted(x, kernel, spec: ConvSpec):
    """A sum over kernel offsets of (shifted input slice) @ (kernel tap)."""
    g = spec.groups
    w = _grouped(kernel, g)  # (K, Cg, G, Og)
    y = None
    for k, s in enumerate(_slices(x, kernel.shape[:-2], spec)):
        if w.shape[1] == 1:
            # One channel per group: a broadcast multiply, which XLA fuses (and whose
            # kernel gradient is a fused multiply-reduce, not a batched dot).
            term = (s[..., :, None] * w[k, 0]).reshape(*s.shape[:-1], -1)
        elif g == 1:
            term = jnp.tensordot(s, w[k, :, 0], axes=1)
        else:
            s = s.reshape(*s.shape[:-1], g, w.shape[1])  # (B, *out, G, Cg)
            term = jnp.einsum("...gc,cgo->...go", s, w[k]).reshape(*s.shape[:-2], -1)
        y = term if y is None else y + term
    return y


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
        terms.append(_FORM_FNS[lowering[1]](dx, kernel, spec))
    if not isinstance(dkernel, zero):
        terms.append(_FORM_FNS[lowering[2]](x, dkernel, spec))
    if not terms:
        return y, jnp.zeros_like(y)
    return y, terms[0] if len(terms) == 1 else terms[0] + terms[1]


SHIFTED_MAX_TAPS = (25, 49)
"""The most kernel taps for the ``"shifted"`` form: ``(one input channel, depthwise)``.

Its program has one multiply per tap, and XLA's compile time grows with them. Measured
on a 2-core AVX2 CPU (8x64x64 inputs, jitted gradient of the convolution): one input
channel, 5x5 runs 1.5x faster than XLA's convolution and 7x7 no faster, while compiling
in 2.8 s instead of 0.2 s (31x31, a Gaussian blur with sigma 5, took 14 s); depthwise
with 16 channels, 7x7 runs 3.3x faster (compiling in 3.7 s instead of 0.2 s) and 9x9
1.4x (6.3 s).
"""


def choose_lowering(backend: str, x_shape, kernel_shape, spec: ConvSpec, dtype="float32") -> tuple:
    """The ``(forward, input_gradient, kernel_gradient)`` forms for a convolution.

    XLA's convolution, except on CPU for float32, channels-last convolutions:

    - one input channel per group, not transposed, a kernel of at most
      ``SHIFTED_MAX_TAPS`` taps: the ``"shifted"`` form, whose taps are broadcast
      multiplies, for the forward of a ``C=1`` convolution (the first layer of a
      grayscale image model) and all three passes of a depthwise one;
    - not grouped, with a kernel larger than what a pass slides over in every spatial
      dimension: the ``"patches"`` forward when that holds for the input (dilated by
      the stride for a transposed convolution), the ``"patches"`` input gradient when
      it holds for the output (not transposed).

    The measurements behind this are in the module docstring. Other dtypes keep XLA's
    convolution, whose accumulation precision the other forms' sums (in the input
    dtype) would not match.
    """
    if backend != "cpu" or not spec.channels_last or jnp.dtype(dtype) != jnp.float32:
        return XLA
    dilated = any(d != 1 for d in spec.lhs_dilation)
    taps = math.prod(kernel_shape[:-2])
    if kernel_shape[-2] == 1 and not dilated and taps <= SHIFTED_MAX_TAPS[spec.groups > 1]:
        return ("shifted",) * 3 if spec.groups > 1 else ("shifted", "xla", "xla")
    # There XLA takes a path 4-80x slower than the matmul (VGG16's last block at 32x32
    # images, any network's last stage on small images); its kernel gradient does not.
    spans = [(k - 1) * d + 1 for k, d in zip(kernel_shape[:-2], spec.rhs_dilation)]
    sizes = [(n - 1) * d + 1 for n, d in zip(x_shape[1:-1], spec.lhs_dilation)]
    outs = output_sizes(x_shape[1:-1], kernel_shape[:-2], spec)
    small_in = all(n < s for n, s in zip(sizes, spans))
    small_out = all(n < s for n, s in zip(outs, spans)) and not dilated
    if spec.groups == 1 and (small_in or small_out):
        return ("patches" if small_in else "xla", "patches" if small_out else "xla", "xla")
    return XLA


def conv(x, kernel, spec: ConvSpec, lowering: tuple[str, str, str] | None = None):
    """Convolve ``x`` with ``kernel`` (``(*k, C/groups, O)``) as ``spec`` says.

    Args:
        x: ``(batch, *spatial, C)`` or, with ``channels_last=False``, ``(batch, C, *spatial)``.
        kernel: ``(*kernel_size, C // groups, O)``.
        spec: a :class:`ConvSpec`.
        lowering: ``(forward, input_gradient, kernel_gradient)`` forms from
            :data:`FORMS`; default :func:`choose_lowering` for the default backend.

    Returns:
        ``(batch, *out_spatial, O)`` (or channels-first).
    """
    if lowering is None:
        lowering = choose_lowering(
            jax.default_backend(), x.shape, kernel.shape, spec, dtype=x.dtype
        )
    lowering = tuple(lowering)
    if len(lowering) != 3 or any(f not in FORMS for f in lowering):
        raise ValueError(f"A lowering is a triple of forms from {FORMS}. Received: {lowering}")
    if lowering != XLA and not spec.channels_last:
        raise ValueError(
            "The 'patches' and 'shifted' forms need channels-last inputs. "
            f"Received: lowering={lowering}, spec={spec}"
        )
    return _conv_jit(x, kernel, spec, lowering)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _conv_jit(x, kernel, spec, lowering):
    # One compiled program for an eager call (the matmul forms are ~30 small ops, each
    # compiled on its own when dispatched one by one); inlined under an outer jit.
    if lowering == XLA:
        return conv_xla(x, kernel, spec)
    return _mixed(x, kernel, spec, lowering)
