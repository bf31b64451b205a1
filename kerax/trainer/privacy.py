"""Differentially private training (DP-SGD): per-example gradients, clipped and noised.

DP-SGD (Abadi et al., 2016, "Deep Learning with Differential Privacy",
https://arxiv.org/abs/1607.00133) bounds how far any one example can move the
weights. Each example's gradient is clipped to L2 norm at most ``l2_clip`` (the norm
over the whole gradient pytree), the clipped gradients of the batch's valid rows are
summed, Gaussian noise of standard deviation ``noise_multiplier * l2_clip`` is added
to the sum, and the result is divided by the number of valid rows. The optimizer then
takes that gradient in place of the ordinary mean gradient.

In kerax this is a branch of the same pure train step (``Engine.train_step``), so it
runs in the fused and the one-step programs and under ``Population``'s vmap alike.
Per-example gradients come from ``jax.vmap`` of ``jax.grad`` over the batch rows, each
row run through ``model._apply`` as a batch of one. What goes where:

- An example's loss is the compiled loss of its batch of one, with its sample (or
  class) weight applied, plus the ``add_loss`` terms its own forward pass adds
  (``ActivityRegularization``...): those may depend on the data, so they are clipped
  with it.
- Weight regularizers (``kernel_regularizer``...) depend on the weights alone; their
  gradient is added after the noise, unclipped, like weight decay. It costs no privacy.
- Layers that compute from the whole batch or keep state across batches
  (``BatchNormalization`` in training, stateful RNNs, any layer that updates
  non-trainable weights in training) are refused: their numbers would mix examples
  and their state would carry data past the noise.

The logged loss and metrics are the ordinary (non-private) batch values.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from kerax import _mask_count
from kerax.trainer.compile_utils import flatten_outputs


class DPConfig(NamedTuple):
    """The DP-SGD settings of a compiled model (Python floats: part of the program)."""

    l2_clip: float
    noise_multiplier: float


def _check_number(name: str, value: Any, allow_zero: bool) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"{name} must be a finite number {bound}. Received: {name}={value!r}. "
            "Typical DP-SGD settings: dp_l2_clip=1.0, dp_noise_multiplier=1.1."
        )
    return float(value)


def validate(l2_clip: Any, noise_multiplier: Any) -> DPConfig | None:
    """Check ``compile``'s two DP arguments; ``None`` when both are ``None`` (no DP).

    Args:
        l2_clip: the per-example L2 clipping norm, a number > 0.
        noise_multiplier: noise standard deviation over ``l2_clip``, a number >= 0
            (0 clips without noise: no privacy guarantee, useful for testing).

    Returns:
        A :class:`DPConfig`, or ``None``.

    Raises:
        ValueError: when only one is given, or a value is not a valid number.

    >>> validate(1.0, 1.1)
    DPConfig(l2_clip=1.0, noise_multiplier=1.1)
    """
    if l2_clip is None and noise_multiplier is None:
        return None
    if l2_clip is None or noise_multiplier is None:
        raise ValueError(
            "Differentially private training needs both dp_l2_clip and "
            "dp_noise_multiplier (or neither). Received: "
            f"dp_l2_clip={l2_clip!r}, dp_noise_multiplier={noise_multiplier!r}"
        )
    return DPConfig(
        _check_number("dp_l2_clip", l2_clip, allow_zero=False),
        _check_number("dp_noise_multiplier", noise_multiplier, allow_zero=True),
    )


def check_model(model) -> None:
    """Refuse layers that mix examples or carry state from batch to batch.

    Raises:
        ValueError: naming the first such layer and what to do instead.
    """
    from kerax.layers import BatchNormalization

    for layer in model._flat_layers():
        if isinstance(layer, BatchNormalization) and layer.trainable:
            raise ValueError(
                f"Layer '{layer.name}' (BatchNormalization) normalizes each example with "
                "statistics of the whole batch, so one example's gradient depends on the "
                "others and DP-SGD's per-example clipping bounds nothing. Use "
                "LayerNormalization or GroupNormalization instead, or freeze the layer "
                "(layer.trainable = False), or compile without dp_l2_clip/"
                "dp_noise_multiplier."
            )
        if getattr(layer, "stateful", False):
            raise ValueError(
                f"Layer '{layer.name}' is stateful: its state carries examples from one "
                "batch into the next, which DP-SGD's per-example gradients cannot bound. "
                "Use stateful=False, or compile without dp_l2_clip/dp_noise_multiplier."
            )
        if layer.trainable and getattr(layer, "quantization_mode", None) == "float8":
            raise ValueError(
                f"Layer '{layer.name}' is quantized to float8: its scales and magnitude "
                "histories are written from each batch's largest values (their "
                "'gradients'), which DP-SGD would clip and noise as gradients, and which "
                "carry one example's magnitude into every later step. Train it in float "
                "and quantize after, freeze it (layer.trainable = False), or compile "
                "without dp_l2_clip/dp_noise_multiplier."
            )


def check_optimizer(optimizer) -> None:
    """Refuse loss scaling: DP-SGD clips the true gradients, never scaled ones.

    Raises:
        ValueError: for a ``LossScaleOptimizer`` or an optimizer with ``loss_scale_factor``.
    """
    from kerax.optimizers import LossScaleOptimizer

    if isinstance(optimizer, LossScaleOptimizer) or getattr(optimizer, "loss_scale_factor", None):
        raise ValueError(
            "DP-SGD cannot be combined with loss scaling: the optimizer would divide the "
            "private gradient by a scale it was never multiplied by. Received: "
            f"optimizer={type(optimizer).__name__} with loss scaling. Pass an optimizer "
            "without LossScaleOptimizer or loss_scale_factor, or compile without "
            "dp_l2_clip/dp_noise_multiplier."
        )


def _refuse_state_updates(model, before: Any, after: Any) -> None:
    """At trace time: fail if the forward pass wrote any non-trainable variable."""
    flat_before = jax.tree_util.tree_flatten_with_path(before)[0]
    flat_after = jax.tree_util.tree_leaves(after)
    for (path, old), new in zip(flat_before, flat_after):
        if new is not old:  # _apply hands back the very object it got when nothing wrote
            names = [str(getattr(p, "key", p)) for p in path]
            raise ValueError(
                f"Layer '{names[0]}' of model '{model.name}' updates its non-trainable "
                f"weight '{'/'.join(names)}' in training. Under DP-SGD each example runs "
                "alone and state written from the data would escape the clipping and the "
                "noise. Freeze the layer (trainable = False), use a stateless layer, or "
                "compile without dp_l2_clip/dp_noise_multiplier."
            )


def clip_factors(per_example_grads: Any, l2_clip: float, mask: jax.Array | None = None):
    """Per-example scales ``min(1, l2_clip / ||g_i||)`` (0 where ``mask`` is 0).

    Args:
        per_example_grads: a gradient pytree whose leaves have a leading batch axis.
        l2_clip: the clipping norm.
        mask: optional ``(batch,)`` 0/1 weights; rows with 0 get factor 0.

    Returns:
        A ``(batch,)`` float32 array: scaled by it, every gradient has norm <= ``l2_clip``.
    """
    leaves = jax.tree_util.tree_leaves(per_example_grads)
    squares = sum(
        jnp.sum(jnp.square(g.astype(jnp.float32)).reshape(g.shape[0], -1), axis=1) for g in leaves
    )
    tiny = jnp.finfo(jnp.float32).tiny  # a zero gradient needs no scaling (factor 1)
    factors = jnp.minimum(1.0, l2_clip / jnp.sqrt(jnp.maximum(squares, tiny)))
    if mask is not None:
        # `where`, not a product: a padded row's norm may be nan, and nan * 0 = nan.
        factors = jnp.where(mask > 0, factors, 0.0)
    return factors


def _noised_mean(summed: Any, std: Any, key: Any, count: jax.Array) -> Any:
    """``(summed + N(0, std^2)) / count``, one noise draw for every leaf."""
    flat, treedef = jax.tree_util.tree_flatten(summed)
    if not (isinstance(std, (int, float)) and std == 0):  # static 0: clipping only
        # One draw for all leaves: on CPU each threefry call is a loop with a fixed cost.
        key = key() if callable(key) else key
        sizes = [g.size for g in flat]
        noise = std * jax.random.normal(key, (sum(sizes),), jnp.float32)
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        flat = [
            g + noise[o : o + g.size].reshape(g.shape).astype(g.dtype)
            for g, o in zip(flat, offsets)
        ]
    return jax.tree_util.tree_unflatten(treedef, [(g / count).astype(g.dtype) for g in flat])


def private_gradient(
    per_example_grads: Any,
    l2_clip: float,
    noise_multiplier: float,
    key: jax.Array,
    mask: jax.Array | None = None,
) -> Any:
    """The DP-SGD gradient: clipped per-example gradients, summed, noised, averaged.

    The optimizer-side form of ``compile(dp_l2_clip=..., dp_noise_multiplier=...)``,
    for hand-written JAX loops (like ``optax.contrib.differentially_private_aggregate``
    with a padding mask and an explicit key per step).

    Args:
        per_example_grads: a gradient pytree whose leaves have a leading batch axis
            (``jax.vmap(jax.grad(loss))`` over the examples).
        l2_clip: each example's gradient is scaled to global L2 norm <= ``l2_clip``.
        noise_multiplier: the noise standard deviation is ``noise_multiplier * l2_clip``.
        key: PRNG key of this step's noise.
        mask: optional ``(batch,)`` 0/1 weights of the valid rows (default: all valid).

    Returns:
        ``(sum of clipped gradients + N(0, (noise_multiplier * l2_clip)^2)) / valid rows``.

    Example:
        >>> g = {"w": jnp.array([[3.0, 4.0], [0.3, 0.4]])}  # norms 5 and 0.5
        >>> out = private_gradient(g, 1.0, 0.0, jax.random.PRNGKey(0))  # ([.6, .8] + g[1]) / 2
        >>> [round(float(v), 4) for v in out["w"]]
        [0.45, 0.6]
    """
    factors = clip_factors(per_example_grads, l2_clip, mask)
    zero = lambda g: jnp.zeros((), g.dtype)
    keep = lambda g: factors.reshape(factors.shape + (1,) * (g.ndim - 1)) > 0
    summed = jax.tree_util.tree_map(
        lambda g: jnp.tensordot(factors, jnp.where(keep(g), g, zero(g)), axes=1).astype(g.dtype),
        per_example_grads,
    )
    batch = factors.shape[0]
    count = jnp.float32(batch) if mask is None else jnp.maximum(_mask_count.total(mask), 1.0)
    return _noised_mean(summed, noise_multiplier * l2_clip, key, count)


def _path_get(tree: dict, path: tuple[str, ...]):
    for part in path:
        tree = tree[part]
    return tree


def value_and_private_grad(engine, state, x, y, sw, mask, key):
    """``Engine.train_step``'s DP-SGD branch: ``jax.value_and_grad``'s result shape.

    Args:
        engine: the :class:`~kerax.trainer.engine.Engine` (model, loss, regularizers,
            ``privacy`` config).
        state: the ``TrainState``.
        x, y, sw, mask: the batch as the engine aligned it.
        key: this step's key, or a function returning it (called only if needed):
            example i draws from ``fold_in(key, i)``, the noise from ``fold_in(key, batch)``.

    Returns:
        ``((total, (preds, parts, non_trainable)), grads)``: the logged batch loss, the
        outputs, the per-output losses, the (unchanged) non-trainable state, and the
        private gradient of the trainable variables.
    """
    model, config = engine.model, engine.privacy
    non_trainable = state.non_trainable
    batch = mask.shape[0]
    base_key = key if callable(key) else (lambda: key)
    as_batch = lambda tree: jax.tree_util.tree_map(lambda a: a[None], tree)

    def example_loss(trainable, x1, y1, sw1, m1, i):
        variables = {"trainable": trainable, "non_trainable": non_trainable}
        # Example i's own key, derived only if a layer draws (fold_in 0..batch-1; the
        # noise takes fold_in(batch)), and the same in both passes below.
        k = lambda: jax.random.fold_in(base_key(), i)
        x1, y1, sw1 = as_batch(x1), as_batch(y1), as_batch(sw1)
        y_pred, new_state, added = model._apply(variables, (x1,), True, k, sample_mask=m1[None])
        _refuse_state_updates(model, non_trainable, new_state)
        preds = flatten_outputs(y_pred)
        loss, _ = engine.loss(y1, preds, sw1, m1[None])
        extra = sum((jnp.sum(a).astype(jnp.float32) for a in added), jnp.zeros((), jnp.float32))
        return loss + extra, (preds, extra)

    rows = (x, y, sw, mask, jnp.arange(batch))
    per_example = jax.vmap(jax.grad(example_loss, has_aux=True), in_axes=(None, 0, 0, 0, 0, 0))
    grads, _ = per_example(state.trainable, *rows)
    factors = jax.lax.stop_gradient(clip_factors(grads, config.l2_clip, mask))

    # The clipped sum sum_i f_i * grad_i is the gradient of sum_i f_i * loss_i with the
    # f_i held constant: one more backward pass, which XLA runs about 2.4x faster on a
    # small MLP than contracting the materialized per-example gradients with f.
    def clipped_total(trainable):
        losses, aux = jax.vmap(example_loss, in_axes=(None, 0, 0, 0, 0, 0))(trainable, *rows)
        return jnp.sum(factors * losses), aux

    (_, (preds, extra)), summed = jax.value_and_grad(clipped_total, has_aux=True)(state.trainable)
    count = jnp.maximum(_mask_count.total(mask), 1.0)
    noise_key = lambda: jax.random.fold_in(base_key(), batch)
    grads = _noised_mean(summed, config.noise_multiplier * config.l2_clip, noise_key, count)

    if engine.regularized:  # data-independent: outside the clipping and the noise

        def penalty(trainable):
            terms = [reg(_path_get(trainable, p)) for p, reg in engine.regularized]
            return sum(terms, jnp.zeros((), jnp.float32))

        reg_value, reg_grads = jax.value_and_grad(penalty)(state.trainable)
        grads = jax.tree_util.tree_map(jnp.add, grads, reg_grads)
    else:
        reg_value = jnp.zeros((), jnp.float32)

    preds = [p.reshape(p.shape[:1] + p.shape[2:]) for p in preds]  # (batch, 1, ...) -> rows
    total, parts = engine.loss(y, preds, sw, mask)
    total = total + reg_value + jnp.sum(jnp.where(mask > 0, extra, 0.0)) / count
    return (total, (preds, parts, non_trainable)), grads
