"""One small harness every layer test uses (after keras's ``run_layer_test``).

``check_layer(make, x)`` builds the layer with ``make()`` and checks, on input ``x``:
shapes from a symbolic call agree with the eager output; ``jax.jit`` of ``apply``
equals the eager call; gradients with respect to the input and the weights are finite;
a config round trip rebuilds a layer that gives the same numbers with the same weights.
``check_keras_parity(make, make_keras, x, keras)`` copies weights into the Keras layer
and compares outputs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import kerax
from kerax.trainer import row_analysis


def _is_shape(s):
    return isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)


def _wrap(layer, x, call=None):
    """A functional model around one layer, so the pure functions are at hand.

    ``call(layer, inputs)`` calls the layer on the symbolic inputs (default
    ``layer(inputs)``), e.g. ``lambda mha, t: mha(t[0], t[1], use_causal_mask=True)``.
    """
    inputs = (
        [kerax.Input(shape=a.shape[1:], dtype=str(a.dtype)) for a in x]
        if isinstance(x, list)
        else kerax.Input(shape=x.shape[1:], dtype=str(x.dtype))
    )
    return kerax.Model(inputs, layer(inputs) if call is None else call(layer, inputs))


def _tolist(y):
    return [np.asarray(t) for t in jax.tree_util.tree_leaves(y)]


def check_layer(
    make,
    x,
    training=False,
    key=None,
    atol=1e-5,
    grads=True,
    config=True,
    call=None,
    rows_independent=True,
):
    """Run the harness; returns the eager output (NumPy leaves) for further checks."""
    key = jax.random.PRNGKey(0) if key is None else key
    layer = make()
    model = _wrap(layer, x, call)
    variables = model.get_variables()

    eager, _ = model.apply(variables, x, training=training, key=key)
    shapes = jax.tree_util.tree_leaves(model.output_shape, is_leaf=_is_shape)
    for spec, out in zip(shapes, _tolist(eager)):
        assert len(spec) == out.ndim, (spec, out.shape)
        assert all(s is None or s == o for s, o in zip(spec, out.shape)), (spec, out.shape)

    # One compile: the jitted forward and the gradients come from the same ``jax.jit``
    # (a fresh closure compiles anew anyway; an eager ``jax.grad`` would dispatch, and
    # on first sight of each shape compile, every backward op one by one).
    def forward(trainable, non_trainable, x_, k):
        out, _ = model.apply(
            {"trainable": trainable, "non_trainable": non_trainable},
            x_,
            training=training,
            key=k,
        )
        return out

    if grads:

        def loss(trainable, non_trainable, x_, k):
            out = forward(trainable, non_trainable, x_, k)
            total = sum(
                jnp.sum(jnp.asarray(t, jnp.float32) ** 2) for t in jax.tree_util.tree_leaves(out)
            )
            return total, out

        floating = not isinstance(x, list) and jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)
        argnums = (0, 2) if floating else 0
        (_, jitted), g = jax.jit(jax.value_and_grad(loss, argnums=argnums, has_aux=True))(
            variables["trainable"], variables["non_trainable"], x, key
        )
        assert all(np.isfinite(np.asarray(t)).all() for t in jax.tree_util.tree_leaves(g))
    else:
        jitted = jax.jit(forward)(variables["trainable"], variables["non_trainable"], x, key)
    for a, b in zip(_tolist(eager), _tolist(jitted)):
        np.testing.assert_allclose(a, b, rtol=atol, atol=atol)

    # Each output row from its own input row, as predict's one pass over all rows needs
    # (kerax.trainer.row_analysis): every built-in layer at inference.
    rows = {np.shape(a)[0] for a in jax.tree_util.tree_leaves(x)}
    outs = _tolist(eager)
    if (
        rows_independent
        and rows == {outs[0].shape[0]}
        and all(o.ndim and o.shape[0] == outs[0].shape[0] for o in outs)
    ):
        # one trace at the test's rows (predict checks a second size too)
        infer = lambda v, x_: model.apply(v, x_, training=False, key=key)[0]
        traced = jax.make_jaxpr(infer)(variables, x)
        assert row_analysis.rows_independent(traced, len(jax.tree_util.tree_leaves(variables))), (
            "predict would run this layer batch by batch"
        )

    if config:
        clone = type(layer).from_config(layer.get_config())
        clone_model = _wrap(clone, x, call)
        clone_model.set_weights(model.get_weights())
        again, _ = clone_model.apply(clone_model.get_variables(), x, training=training, key=key)
        for a, b in zip(_tolist(eager), _tolist(again)):
            np.testing.assert_allclose(a, b, rtol=atol, atol=atol)
    return _tolist(eager)


def check_keras_parity(
    make, make_keras, x, keras, training=False, atol=1e-5, key=None, call=None, keras_call=None
):
    """Same weights, same input: our output equals Keras's (``key`` feeds random layers).

    ``call``/``keras_call``: how to call each layer on the inputs (``keras_call``
    defaults to ``call``), as in ``_wrap``.
    """
    ours = _wrap(make(), x, call)
    k_inputs = (
        [keras.Input(shape=a.shape[1:], dtype=str(a.dtype)) for a in x]
        if isinstance(x, list)
        else keras.Input(shape=x.shape[1:], dtype=str(x.dtype))
    )
    keras_call = keras_call or call
    k_layer = make_keras()
    k_outputs = k_layer(k_inputs) if keras_call is None else keras_call(k_layer, k_inputs)
    theirs = keras.Model(k_inputs, k_outputs)
    weights = ours.get_weights()
    assert [w.shape for w in weights] == [tuple(w.shape) for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours_y, _ = ours.apply(ours.get_variables(), x, training=training, key=key)
    theirs_y = theirs(x, training=training)
    for a, b in zip(_tolist(ours_y), _tolist(theirs_y)):
        np.testing.assert_allclose(a, b, rtol=atol, atol=atol)
    return ours, theirs
