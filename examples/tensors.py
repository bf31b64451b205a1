"""The tutorial's tensor section: tensors, ops, and what a TensorFlow 1 graph became.

TensorFlow 1 built a graph of symbolic tensors and ran it in a ``Session``. In kerax
(JAX) you write an ordinary Python function of arrays; ``jax.jit`` traces it once into
an XLA graph and every later call runs the compiled graph.

    python examples/tensors.py
"""

import jax
import numpy as np

import kerax as keras
from kerax import ops


def main() -> None:
    # Tensors: created from Python/NumPy values, immutable, with a shape and a dtype.
    a = ops.convert_to_tensor([[1.0, 2.0], [3.0, 4.0]])
    b = ops.ones((2, 2))
    print("a + b =\n", ops.add(a, b))
    print("a @ b =\n", ops.matmul(a, b))
    print("sum:", float(ops.sum(a)), " mean over rows:", ops.mean(a, axis=0))
    print("argmax per row:", ops.argmax(a, axis=-1))

    # Randomness is explicit and reproducible.
    keras.utils.set_random_seed(42)
    noise = keras.random.normal((2, 3), seed=1)
    print("normal(seed=1):\n", noise)

    # TF1: x = tf.placeholder(...); y = tf.matmul(x, w) + b; sess.run(y, feed_dict=...)
    # kerax: a function of arrays, compiled by jax.jit on first call.
    w = keras.random.uniform((3, 2), seed=2)

    @jax.jit
    def graph(x):
        return ops.relu(ops.matmul(x, w) + 1.0)

    x = np.arange(6, dtype="float32").reshape(2, 3)
    print("compiled graph(x) =\n", graph(x))  # traces + compiles once
    print("again, no retrace =\n", graph(x + 1))  # same shapes: runs the compiled graph
    jaxpr = str(jax.make_jaxpr(graph)(x)).splitlines()
    print("the traced graph (a jaxpr), first lines:\n" + "\n".join(jaxpr[:4]))

    # Gradients of any function of tensors.
    print("d/dx sum(x**2) at a:\n", jax.grad(lambda t: ops.sum(ops.square(t)))(a))


if __name__ == "__main__":
    main()
