"""Keras 3 custom optimizers (``build`` + ``update_step``) in kerax, against real Keras."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kerax

_r = np.random.default_rng(0)
X = _r.normal(size=(32, 4)).astype("float32")
Y = _r.normal(size=(32, 2)).astype("float32")


def _classes(L):
    """A momentum SGD and an Adam written the Keras way against library ``L``."""
    ops = L.ops

    class MySGD(L.optimizers.Optimizer):
        def __init__(self, learning_rate=0.01, momentum=0.9, name="mysgd", **kwargs):
            super().__init__(learning_rate=learning_rate, name=name, **kwargs)
            self.momentum = momentum

        def build(self, var_list):
            if self.built:
                return
            super().build(var_list)
            self.velocities = [self.add_variable_from_reference(v, "velocity") for v in var_list]

        def update_step(self, gradient, variable, learning_rate):
            lr = ops.cast(learning_rate, variable.dtype)
            v = self.velocities[self._get_variable_index(variable)]
            v.assign(self.momentum * v - lr * gradient)
            variable.assign_add(v)

        def get_config(self):
            return {**super().get_config(), "momentum": self.momentum}

    class MyAdam(L.optimizers.Optimizer):
        def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kw):
            super().__init__(learning_rate=learning_rate, **kw)
            self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

        def build(self, var_list):
            if self.built:
                return
            super().build(var_list)
            self.m, self.v = self.add_optimizer_variables(var_list, ["m", "v"])

        def update_step(self, gradient, variable, learning_rate):
            lr = ops.cast(learning_rate, variable.dtype)
            step = ops.cast(self.iterations + 1, variable.dtype)
            alpha = lr * ops.sqrt(1 - ops.power(self.beta_2, step))
            alpha = alpha / (1 - ops.power(self.beta_1, step))
            i = self._get_variable_index(variable)
            m, v = self.m[i], self.v[i]
            self.assign_add(m, (gradient - m) * (1 - self.beta_1))
            self.assign_add(v, (ops.square(gradient) - v) * (1 - self.beta_2))
            self.assign_sub(variable, m * alpha / (ops.sqrt(v) + self.epsilon))

    return MySGD, MyAdam


def _model(L, weights=None):
    model = L.Sequential([L.Input((4,)), L.layers.Dense(3, activation="tanh"), L.layers.Dense(2)])
    if weights is not None:
        model.set_weights(weights)
    return model


def _fit(model, optimizer, epochs=2):
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return model.get_weights()


def _close(a, b, tol=1e-5):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "which, kwargs",
    [
        (0, {}),
        (1, {}),
        (0, dict(weight_decay=0.1, clipnorm=0.5)),
        (1, dict(global_clipnorm=1.0, use_ema=True, ema_momentum=0.5)),
        (0, dict(gradient_accumulation_steps=2)),
    ],
)
def test_fit_matches_keras(keras_oracle, which, kwargs):
    reference = _model(keras_oracle)
    w0 = reference.get_weights()
    theirs = _fit(reference, _classes(keras_oracle)[which](learning_rate=0.05, **kwargs))
    ours = _fit(_model(kerax, w0), _classes(kerax)[which](learning_rate=0.05, **kwargs))
    _close(ours, theirs)


def test_keras_way_adam_equals_builtin_adam():
    w0 = _model(kerax).get_weights()
    schedule = kerax.optimizers.schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5)
    ours = _fit(_model(kerax, w0), _classes(kerax)[1](learning_rate=schedule))
    builtin = _fit(_model(kerax, w0), kerax.optimizers.Adam(learning_rate=schedule))
    _close(ours, builtin)


def test_apply_gradients_and_iterations():
    opt = _classes(kerax)[0](learning_rate=0.1, momentum=0.5)
    w = kerax.Variable(np.ones(3, "float32"), name="w")
    for _ in range(2):
        opt.apply_gradients([(jnp.ones(3), w)])
    # v1 = -0.1, v2 = 0.5 * -0.1 - 0.1 = -0.15
    np.testing.assert_allclose(w.numpy(), 1 - 0.25, rtol=1e-6)
    assert opt.iterations == 2


def test_jit_and_vmap_of_the_transformation():
    opt = _classes(kerax)[1](learning_rate=0.1)
    params = {"w": jnp.ones((5, 3))}
    state = jax.vmap(opt.init)(params)
    updates, state = jax.jit(jax.vmap(opt.update))({"w": jnp.ones((5, 3))}, state, params)
    # Adam's first step moves every weight by -lr.
    np.testing.assert_allclose(updates["w"], -0.1, rtol=1e-4)


def test_population_fit_matches_builtin_sgd():
    def trained(optimizer):
        pop = kerax.Population(_model(kerax), size=2, learning_rate=[0.05, 0.1])
        pop.compile(optimizer=optimizer, loss="mse")
        pop.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        return [jax.tree.leaves(pop.member_variables(i)["trainable"]) for i in range(2)]

    ours = trained(_classes(kerax)[0]())
    builtin = trained(kerax.optimizers.SGD(momentum=0.9))
    for a, b in zip(ours, builtin, strict=True):
        _close(a, b)
    assert not np.allclose(ours[0][0], ours[1][0])


def test_save_load_resumes_optimizer_state(tmp_path):
    MySGD = _classes(kerax)[0]
    model = _model(kerax)
    _fit(model, MySGD(learning_rate=0.05), epochs=1)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = kerax.saving.load_model(path, custom_objects={"MySGD": MySGD})
    assert loaded.optimizer.momentum == 0.9
    assert loaded.optimizer.iterations == model.optimizer.iterations
    continued = _fit(model, model.optimizer, epochs=1)
    resumed = loaded.get_weights()
    loaded.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    _close(loaded.get_weights(), continued)
    assert not np.allclose(resumed[0], continued[0])


def test_finalize_variable_values_copies_the_ema():
    MySGD = _classes(kerax)[0]
    opt = MySGD(learning_rate=0.1, use_ema=True, ema_momentum=0.5)
    w = kerax.Variable(np.ones(2, "float32"), name="w")
    for _ in range(3):
        opt.apply_gradients([(jnp.ones(2), w)])
    expected = np.asarray(opt.ema_params(opt._observed)[0])
    assert not np.allclose(w.numpy(), expected)
    opt.finalize_variable_values([w])
    np.testing.assert_allclose(w.numpy(), expected)


class _Branchy(kerax.optimizers.Optimizer):
    def update_step(self, gradient, variable, learning_rate):
        if gradient.sum() > 0:
            variable.assign_sub(gradient)


class _Jnp(kerax.optimizers.Optimizer):
    def update_step(self, gradient, variable, learning_rate):
        variable.assign(jnp.sqrt(variable))


@pytest.mark.parametrize(
    "cls, match", [(_Branchy, r"_Branchy.update_step.*ops.where"), (_Jnp, r"jax.numpy.*\.value")]
)
def test_unsupported_update_step_code_is_a_clear_error(cls, match):
    with pytest.raises(TypeError, match=match):
        cls().apply_gradients([(jnp.ones(2), kerax.Variable(np.ones(2, "float32")))])


def test_without_update_step_or_core_transform_still_explains():
    with pytest.raises(NotImplementedError, match="update_step"):
        kerax.optimizers.Optimizer().init([jnp.ones(2)])
