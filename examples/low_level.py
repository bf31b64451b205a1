"""The tutorial's low-level model (section 5.1), the JAX way.

The tutorial wrote a model with explicit variables, a loss and an Adam optimizer, and
stepped it by hand. In kerax the model's variables are a pytree from ``init``, the
forward pass is the pure function ``apply``, and the optimizer is optax: the training
step is an ordinary function that ``jax.jit`` compiles once.

    python examples/low_level.py [--steps 300]
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits

import kerax as keras


def main(steps: int = 300, batch_size: int = 64) -> float:
    digits = load_digits()
    x = jnp.asarray(digits.data / 16.0, jnp.float32)
    y = jnp.asarray(digits.target)
    x_train, y_train, x_test, y_test = x[:1500], y[:1500], x[1500:], y[1500:]

    # Layers define the computation; their weights live in `variables`, not in them.
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)]
    )
    key = jax.random.PRNGKey(0)
    variables = model.init(key)  # {"trainable": {"dense": {"kernel", "bias"}, ...}, ...}
    optimizer = optax.adam(1e-2)
    opt_state = optimizer.init(variables["trainable"])

    def loss_fn(params, xb, yb):
        logits, _ = model.apply({"trainable": params, "non_trainable": {}}, xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    @jax.jit
    def train_step(params, opt_state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    params = variables["trainable"]
    rng = np.random.default_rng(0)
    for step in range(steps):
        idx = rng.integers(0, x_train.shape[0], batch_size)
        params, opt_state, loss = train_step(params, opt_state, x_train[idx], y_train[idx])
        if step % 100 == 0:
            print(f"step {step:4d}  loss {float(loss):.4f}")

    logits, _ = jax.jit(model.apply)({"trainable": params, "non_trainable": {}}, x_test)
    accuracy = float(jnp.mean(jnp.argmax(logits, -1) == y_test))
    print(f"test accuracy: {accuracy:.4f}")
    # Hand the trained pytree back to the Keras object, e.g. to save or evaluate it.
    model.set_variables({"trainable": params, "non_trainable": {}})
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    main(args.steps)
