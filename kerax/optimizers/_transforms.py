"""The optax transformations Keras needs that optax does not ship in Keras's form.

Each is a small ``init``/``update`` pair built from optax's own moment helpers
(``optax.tree.update_moment`` ...). They exist only where Keras's numbers differ from
the nearest optax transformation:

- ``scale_by_keras_adam``: Keras adds ``epsilon`` to ``sqrt(v)`` *before* bias
  correction (the "epsilon hat" of Kingma & Ba, arXiv:1412.6980, sec. 2), optax after.
- ``scale_by_keras_adamax``: Keras adds ``epsilon`` once, outside the running max;
  optax adds it inside, where it is decayed with the max.
- ``scale_by_keras_nadam``: Keras uses Dozat's momentum schedule
  ``mu_t = beta_1 (1 - 0.5 * 0.96^t)``; optax's ``nadam`` has none.
- ``ftrl``: optax has no FTRL.
- ``clip_by_norm_per_leaf``: Keras's ``clipnorm`` clips each variable's own norm.
- ``with_decoupled_weight_decay`` / ``with_weight_ema``: Keras's weight decay and
  weight EMA wrap the whole optimizer and need the parameters, not the updates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


def _leaf_step(count: jax.Array, like: jax.Array) -> jax.Array:
    # Keras casts the step to each variable's dtype before taking powers.
    return count.astype(like.dtype)


class ScaleByKerasAdamState(NamedTuple):
    """State of :func:`scale_by_keras_adam` (``nu_max`` is ``()`` without amsgrad)."""

    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates
    nu_max: Any


def scale_by_keras_adam(b1, b2, eps, amsgrad: bool = False) -> optax.GradientTransformation:
    """Adam's direction with Keras's epsilon placement: ``m c / (sqrt(v) + eps)``.

    ``c = sqrt(1 - b2^t) / (1 - b1^t)``; with ``amsgrad`` the running max of ``v``
    (Reddi et al., arXiv:1904.09237) replaces ``v``. Multiply by ``-learning_rate`` after.
    """

    def init_fn(params):
        zeros = optax.tree.zeros_like
        return ScaleByKerasAdamState(
            count=jnp.zeros([], jnp.int32),
            mu=zeros(params),
            nu=zeros(params),
            nu_max=zeros(params) if amsgrad else (),
        )

    def update_fn(updates, state, params=None):
        del params
        count = optax.safe_increment(state.count)
        mu = optax.tree.update_moment(updates, state.mu, b1, 1)
        nu = optax.tree.update_moment_per_elem_norm(updates, state.nu, b2, 2)
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu) if amsgrad else ()

        factors = {}  # the bias correction, once per dtype: one scalar, not one per leaf

        def direction(m, v):
            if m.dtype not in factors:
                t = _leaf_step(count, m)
                factors[m.dtype] = jnp.sqrt(1 - b2**t) / (1 - b1**t)
            return m * factors[m.dtype] / (jnp.sqrt(v) + eps)

        out = jax.tree.map(direction, mu, nu_max if amsgrad else nu)
        return out, ScaleByKerasAdamState(count, mu, nu, nu_max)

    return optax.GradientTransformation(init_fn, update_fn)


def scale_by_keras_adamax(b1, b2, eps) -> optax.GradientTransformation:
    """Adamax (Kingma & Ba, sec. 7.1) as Keras: ``m / ((1 - b1^t) (u + eps))``."""

    def init_fn(params):
        zeros = optax.tree.zeros_like
        return optax.ScaleByAdamState(
            count=jnp.zeros([], jnp.int32), mu=zeros(params), nu=zeros(params)
        )

    def update_fn(updates, state, params=None):
        del params
        count = optax.safe_increment(state.count)
        mu = optax.tree.update_moment(updates, state.mu, b1, 1)
        nu = optax.tree.update_infinity_moment(updates, state.nu, b2, 0.0)
        out = jax.tree.map(lambda m, u: m / ((1 - b1 ** _leaf_step(count, m)) * (u + eps)), mu, nu)
        return out, optax.ScaleByAdamState(count, mu, nu)

    return optax.GradientTransformation(init_fn, update_fn)


class ScaleByKerasNadamState(NamedTuple):
    """State of :func:`scale_by_keras_nadam`: moments and the product of the mu_t."""

    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates
    u_product: jax.Array


def scale_by_keras_nadam(b1, b2, eps) -> optax.GradientTransformation:
    """Nadam (Dozat, 2016, "Incorporating Nesterov Momentum into Adam") as Keras."""

    def init_fn(params):
        zeros = optax.tree.zeros_like
        dtype = optax.tree.dtype(params, "highest")
        return ScaleByKerasNadamState(
            count=jnp.zeros([], jnp.int32),
            mu=zeros(params),
            nu=zeros(params),
            u_product=jnp.ones([], dtype),
        )

    def update_fn(updates, state, params=None):
        del params
        count = optax.safe_increment(state.count)
        t = count.astype(state.u_product.dtype)
        u_t = b1 * (1.0 - 0.5 * 0.96**t)
        u_next = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        u_product = state.u_product * u_t
        mu = optax.tree.update_moment(updates, state.mu, b1, 1)
        nu = optax.tree.update_moment_per_elem_norm(updates, state.nu, b2, 2)

        def direction(g, m, v):
            m_hat = u_next * m / (1 - u_product * u_next) + (1 - u_t) * g / (1 - u_product)
            v_hat = v / (1 - b2 ** _leaf_step(count, v))
            return (m_hat / (jnp.sqrt(v_hat) + eps)).astype(g.dtype)

        out = jax.tree.map(direction, updates, mu, nu)
        return out, ScaleByKerasNadamState(count, mu, nu, u_product)

    return optax.GradientTransformation(init_fn, update_fn)


class FtrlState(NamedTuple):
    """State of :func:`ftrl`: the squared-gradient sum ``n`` and the linear term ``z``."""

    accumulator: optax.Updates
    linear: optax.Updates


def ftrl(
    learning_rate,
    learning_rate_power,
    initial_accumulator_value,
    l1_regularization_strength,
    l2_regularization_strength,
    l2_shrinkage_regularization_strength,
    beta,
) -> optax.GradientTransformation:
    """FTRL-Proximal (McMahan et al., 2013, "Ad Click Prediction"), Keras's variant.

    Per weight ``w`` with gradient ``g`` (``s`` is the shrinkage strength)::

        n' = n + g^2
        z  = z + (g + 2 s w) - (n'^-p - n^-p) / lr * w
        w  = (clip(z, -l1, l1) - z) / (n'^-p / lr + 2 (l2 + beta / (2 lr)))

    FTRL computes the new weight outright, so the update returned is ``w_new - w``
    (it already includes the learning rate).
    """

    def init_fn(params):
        return FtrlState(
            accumulator=optax.tree.full_like(params, initial_accumulator_value),
            linear=optax.tree.zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("Ftrl computes new weights from the old ones: pass `params`.")
        power = -learning_rate_power
        l1 = l1_regularization_strength

        def leaf(g, w, n, z):
            lr = jnp.asarray(learning_rate, w.dtype)
            l2 = l2_regularization_strength + beta / (2.0 * lr)
            new_n = n + jnp.square(g)
            shrunk = g + 2 * l2_shrinkage_regularization_strength * w
            z = z + (shrunk - (jnp.power(new_n, power) - jnp.power(n, power)) / lr * w)
            quadratic = jnp.power(new_n, power) / lr + 2 * l2
            new_w = (jnp.clip(z, -l1, l1) - z) / quadratic
            return new_w - w, new_n, z

        out = jax.tree.map(leaf, updates, params, state.accumulator, state.linear)
        treedef = jax.tree.structure(updates)
        delta, n, z = (
            jax.tree.unflatten(treedef, [t[i] for t in treedef.flatten_up_to(out)])
            for i in range(3)
        )
        return delta, FtrlState(n, z)

    return optax.GradientTransformation(init_fn, update_fn)


def clip_by_norm_per_leaf(clipnorm: float) -> optax.GradientTransformation:
    """Keras ``clipnorm``: scale each gradient so its own L2 norm is at most ``clipnorm``."""

    def clip(g, _):
        sq = jnp.sum(jnp.square(g))
        # Two-sided where keeps the gradient of sqrt finite at 0 (Keras does the same).
        norm = jnp.where(sq > 0, jnp.sqrt(jnp.where(sq > 0, sq, 1.0)), sq)
        return g * clipnorm / jnp.maximum(norm, clipnorm)

    return optax.stateless_with_tree_map(clip)


def scale_by_relative_step(learning_rate) -> optax.GradientTransformation:
    """Adafactor's step size ``-min(learning_rate, 1 / sqrt(t))`` (Shazeer & Stern, 2018)."""
    return optax.scale_by_schedule(
        lambda count: -jnp.minimum(learning_rate, 1.0 / jnp.sqrt((count + 1).astype(jnp.float32)))
    )


def scale_by_matrix_shape(rms_rate) -> optax.GradientTransformation:
    """Muon's Moonlight scaling ``update * sqrt(max(rows, cols)) * rms_rate`` (arXiv:2502.16982)."""
    return optax.stateless_with_tree_map(
        lambda u, _: u * jnp.sqrt(jnp.float32(max(u.shape[0], u.shape[1]))) * rms_rate
    )


def with_decoupled_weight_decay(
    inner: optax.GradientTransformation, learning_rate, rates_fn: Callable[[Any], list]
) -> optax.GradientTransformation:
    """Keras weight decay: ``w -= w * rate * lr`` *before* ``inner`` sees ``w``.

    ``inner`` receives the decayed parameters (Lamb's trust ratio, Adafactor's scale
    and FTRL read them), and the returned update is the sum of both moves.
    ``rates_fn(params)`` gives one rate per leaf in flattening order, or ``None`` to
    leave a leaf undecayed; it runs at trace time so it may look at key paths.
    """

    inner = optax.with_extra_args_support(inner)

    def update_fn(updates, state, params=None, **extra):
        if params is None:
            raise ValueError("Weight decay needs the parameters: pass `params` to update().")
        leaves, treedef = jax.tree.flatten(params)
        rates = rates_fn(params)
        # Keras's order of operations: w - (w * rate) * lr, all in w's dtype.
        decayed = [
            p
            if r is None
            else p - p * jnp.asarray(r, p.dtype) * jnp.asarray(learning_rate, p.dtype)
            for p, r in zip(leaves, rates, strict=True)
        ]
        inner_updates, state = inner.update(
            updates, state, jax.tree.unflatten(treedef, decayed), **extra
        )
        moved = [
            u if r is None else ((d - p) + u).astype(u.dtype)
            for u, d, p, r in zip(
                treedef.flatten_up_to(inner_updates), decayed, leaves, rates, strict=True
            )
        ]
        return jax.tree.unflatten(treedef, moved), state

    return optax.GradientTransformationExtraArgs(inner.init, update_fn)


class WeightEmaState(NamedTuple):
    """State of :func:`with_weight_ema`: micro-step ``count``, the ``ema`` of the weights."""

    count: jax.Array
    ema: optax.Params
    inner_state: Any


def with_weight_ema(
    inner: optax.GradientTransformation,
    momentum: float,
    overwrite_frequency: int | None,
    steps_per_update: int = 1,
) -> optax.GradientTransformation:
    """Keras ``use_ema``: keep ``ema = m * ema + (1 - m) * w_new`` of the weights.

    As in Keras, the first optimizer iteration copies the weights (``m = 0``), the
    iteration counts whole updates (micro-steps // ``steps_per_update``), and with
    ``overwrite_frequency`` the update returned every that many iterations moves the
    weights onto their average.
    """

    def init_fn(params):
        return WeightEmaState(
            count=jnp.zeros([], jnp.int32),
            ema=optax.tree.zeros_like(params),
            inner_state=inner.init(params),
        )

    def update_fn(updates, state, params=None, **extra):
        if params is None:
            raise ValueError("use_ema needs the parameters: pass `params` to update().")
        updates, inner_state = optax.with_extra_args_support(inner).update(
            updates, state.inner_state, params, **extra
        )
        new_params = optax.apply_updates(params, updates)
        iteration = state.count // steps_per_update
        m = jnp.where(iteration != 0, momentum, 0.0)
        ema = jax.tree.map(
            lambda a, w: m.astype(w.dtype) * a + (1 - m).astype(w.dtype) * w, state.ema, new_params
        )
        if overwrite_frequency:
            overwrite = (iteration + 1) % overwrite_frequency == 0
            updates = jax.tree.map(
                lambda u, a, p: jnp.where(overwrite, (a - p).astype(u.dtype), u),
                updates,
                ema,
                params,
            )
        return updates, WeightEmaState(optax.safe_increment(state.count), ema, inner_state)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
