"""Convolution lowerings: the whole train step of an MNIST convnet, per lowering, as ratios.

The network is the Keras MNIST example: Conv2D 32 3x3 relu -> MaxPool 2 -> Conv2D 64
3x3 relu -> MaxPool 2 -> Flatten -> Dropout 0.5 -> Dense 10 softmax, batch 128 of
28x28x1, Adam. One train step is ``jax.value_and_grad`` of the loss plus the optax
update, jitted; each configuration below differs only in how its two convolutions are
lowered (``kerax.layers.convolution._ops``: a ``(forward, input_gradient,
kernel_gradient)`` triple of forms ``xla`` / ``patches`` / ``shifted``; ``auto`` is what
the layers choose; the first layer's input gradient is never computed) or pooled
(reshape + max, ``reduce_window``, or ``auto_sliced_pool``: kerax's elementwise max of
strided slices, what ``kerax_layers`` gets).

The configurations alternate (A B C ... A B C ...) for ``--rounds`` rounds of
``--steps`` steps, so that load from other processes hits all alike. Reported:
median and best samples/s, and the median over rounds of each one's ratio to ``xla``
in the same round. ``--breakdown`` also times each convolution's forward, input
gradient and kernel gradient alone, per form. When PyTorch is importable its eager
train step of the same network is timed in the same rotation.

    python benchmarks/conv_lowering.py
    python benchmarks/conv_lowering.py --rounds 20 --breakdown
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import kerax  # noqa: E402
from kerax.layers.convolution import _ops  # noqa: E402
from kerax.layers.pooling import max_pool  # noqa: E402

BATCH = 128
XLA = _ops.XLA


def _spec(channels_last=True):
    return _ops.ConvSpec((1, 1), ((0, 0), (0, 0)), (1, 1), (1, 1), 1, channels_last)


def _auto(x_shape, kernel_shape):
    return _ops.choose_lowering(jax.default_backend(), x_shape, kernel_shape, _spec())


def _pool_reshape(x, channels_last=True):
    # 2x2 max pooling, stride 2, valid: a reshape and a max, whose gradient is a cheap
    # compare-and-select (lax.reduce_window's is XLA:CPU's slow select-and-scatter).
    if not channels_last:
        b, c, h, w = x.shape
        x = x[:, :, : h // 2 * 2, : w // 2 * 2].reshape(b, c, h // 2, 2, w // 2, 2)
        return x.max(axis=(3, 5))
    b, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2].reshape(b, h // 2, 2, w // 2, 2, c)
    return x.max(axis=(2, 4))


def _pool_sliced(x, channels_last=True):
    # What kerax's MaxPooling2D does on CPU: an elementwise max of strided slices with
    # an elementwise custom derivative (kerax.layers.pooling._ops._max_tiles).
    fmt = "channels_last" if channels_last else "channels_first"
    return max_pool(x, (2, 2), (2, 2), "valid", fmt)


def _pool_reduce_window(x, channels_last=True):
    window = (1, 2, 2, 1) if channels_last else (1, 1, 2, 2)
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, window, "VALID")


# name -> (layer-1 lowering, layer-2 lowering, channels_last, pooling)
CONFIGS = {
    "xla": (XLA, XLA, True, _pool_reshape),
    "auto": ("auto", "auto", True, _pool_reshape),
    "auto_sliced_pool": ("auto", "auto", True, _pool_sliced),
    "xla_nchw": (XLA, XLA, False, _pool_reshape),
    "xla_reduce_window_pool": (XLA, XLA, True, _pool_reduce_window),
    "L1 shifted/-/patches": (("shifted", "xla", "patches"), XLA, True, _pool_reshape),
    "L1 shifted/-/shifted": (("shifted", "xla", "shifted"), XLA, True, _pool_reshape),
    "L1 patches/-/patches": (("patches", "xla", "patches"), XLA, True, _pool_reshape),
    "L1 patches/-/xla": (("patches", "xla", "xla"), XLA, True, _pool_reshape),
    "L1 xla/-/patches": (("xla", "xla", "patches"), XLA, True, _pool_reshape),
    "L1 auto, L2 patches x3": ("auto", ("patches",) * 3, True, _pool_reshape),
    "L1 auto, L2 shifted x3": ("auto", ("shifted",) * 3, True, _pool_reshape),
    "L1 auto, L2 xla/patches/xla": ("auto", ("xla", "patches", "xla"), True, _pool_reshape),
    "L1 auto, L2 xla/xla/shifted": ("auto", ("xla", "xla", "shifted"), True, _pool_reshape),
}


def init_params(key):
    k1, k2, k3 = jax.random.split(key, 3)
    glorot = jax.nn.initializers.glorot_uniform()
    return {
        "w1": glorot(k1, (3, 3, 1, 32)),
        "b1": jnp.zeros(32),
        "w2": glorot(k2, (3, 3, 32, 64)),
        "b2": jnp.zeros(64),
        "w3": glorot(k3, (1600, 10)),
        "b3": jnp.zeros(10),
    }


def make_model(low1, low2, channels_last, pool):
    spec = _spec(channels_last)

    def layer(x, w, b, low):
        if low == "auto":
            low = _auto(x.shape, w.shape)
        y = _ops.conv(x, w, spec, low)
        return jax.nn.relu(y + (b if channels_last else b[:, None, None]))

    def model(p, x, key):
        x = pool(layer(x, p["w1"], p["b1"], low1), channels_last)
        x = pool(layer(x, p["w2"], p["b2"], low2), channels_last)
        x = x.reshape(x.shape[0], -1)
        keep = jax.random.bernoulli(key, 0.5, x.shape)
        x = jnp.where(keep, x / 0.5, 0.0)
        return jax.nn.log_softmax(x @ p["w3"] + p["b3"])

    return model


def make_kerax_model():
    """The same network from kerax layers (the convolutions choose their lowering)."""
    layers = kerax.layers
    return kerax.Sequential(
        [
            kerax.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10),
        ]
    )


def jax_runner(model_fn, params, x, y, channels_last=True):
    tx = optax.adam(1e-3)
    if not channels_last:
        x = jnp.transpose(x, (0, 3, 1, 2))

    # The batch is an argument, never a closed-over constant: XLA would constant-fold
    # everything that depends on the input alone (e.g. the first layer's im2col).
    @jax.jit
    def step(params, opt_state, key, x, y):
        key, sub = jax.random.split(key)

        def loss_fn(p):
            return -jnp.mean(jnp.sum(model_fn(p, x, sub) * y, axis=-1))

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, key, loss

    state = [params, tx.init(params), jax.random.PRNGKey(1)]

    def run(n):
        loss = None
        for _ in range(n):
            state[0], state[1], state[2], loss = step(*state, x, y)
        return float(loss)

    return run


def kerax_runner(x, y):
    model = make_kerax_model()
    variables = model.get_variables()

    def model_fn(trainable, x_, key):
        logits, _ = model.apply(
            {"trainable": trainable, "non_trainable": variables["non_trainable"]},
            x_,
            training=True,
            key=key,
        )
        return jax.nn.log_softmax(logits)

    return jax_runner(model_fn, variables["trainable"], x, y)


def torch_runner(x, y):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(1600, 10),
    )  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    xt = torch.from_numpy(np.asarray(x).transpose(0, 3, 1, 2).copy())
    labels = torch.from_numpy(np.asarray(y).argmax(-1))

    def run(n):
        loss = None
        for _ in range(n):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(xt), labels)
            loss.backward()
            opt.step()
        return float(loss.detach())

    return run


def breakdown(rounds):
    """Forward, input-gradient and kernel-gradient time of single convolutions, per form."""
    key = jax.random.PRNGKey(0)
    # (batch, size, in channels, out channels, groups): the convnet's two layers and a
    # depthwise layer of a MobileNet-like model
    shapes = [(BATCH, 28, 1, 32, 1), (BATCH, 13, 32, 64, 1), (32, 28, 64, 64, 64)]
    for b, h, c, o, groups in shapes:
        spec = _spec()._replace(groups=groups)
        x = jax.random.normal(key, (b, h, h, c))
        w = jax.random.normal(key, (3, 3, c // groups, o)) * 0.1
        g = jax.random.normal(key, (b, h - 2, h - 2, o))
        flops = 2 * b * (h - 2) ** 2 * 9 * (c // groups) * o
        fns = {}
        for form in _ops.FORMS:
            low = (form,) * 3

            def fwd(x, w, g, low=low, spec=spec):
                return _ops.conv(x, w, spec, low)

            def dx(x, w, g, low=low, spec=spec):
                return jax.vjp(lambda x_: _ops.conv(x_, w, spec, low), x)[1](g)[0]

            def dw(x, w, g, low=low, spec=spec):
                return jax.vjp(lambda w_: _ops.conv(x, w_, spec, low), w)[1](g)[0]

            for part, fn in (("forward", fwd), ("input grad", dx), ("kernel grad", dw)):
                fns[f"{part} {form}"] = jax.jit(fn)
        best = {}
        for name, f in fns.items():
            jax.block_until_ready(f(x, w, g))
            best[name] = float("inf")
        for _ in range(rounds):
            for name, f in fns.items():
                t = time.perf_counter()
                for _ in range(5):
                    r = f(x, w, g)
                jax.block_until_ready(r)
                best[name] = min(best[name], (time.perf_counter() - t) / 5)
        kind = f"depthwise {h}x{h}x{c}" if groups > 1 else f"conv {h}x{h}x{c} -> {o}"
        print(f"\n{kind}, 3x3, batch {b} ({flops / 1e6:.0f} MFLOP each), best of {rounds}:")
        for name, t in sorted(best.items()):
            print(f"  {name:22s} {t * 1e3:7.2f} ms  {flops / t / 1e9:6.1f} GFLOP/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed block")
    parser.add_argument("--configs", nargs="*", default=None, help="a subset of the names")
    parser.add_argument("--breakdown", action="store_true")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random((BATCH, 28, 28, 1), dtype=np.float32))
    y = jnp.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, BATCH)])
    params = init_params(jax.random.PRNGKey(0))

    names = args.configs or list(CONFIGS) + ["kerax_layers", "torch_eager"]
    runners = {}
    for name in names:
        if name == "kerax_layers":
            runners[name] = kerax_runner(x, y)
        elif name == "torch_eager":
            try:
                runners[name] = torch_runner(x, y)
            except ImportError:
                print("torch is not importable: skipping the PyTorch eager reference")
        else:
            low1, low2, channels_last, pool = CONFIGS[name]
            model = make_model(low1, low2, channels_last, pool)
            runners[name] = jax_runner(model, params, x, y, channels_last)
    for run in runners.values():  # compile and warm up
        run(2)

    rates = {name: [] for name in runners}
    cpu_rates = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, run in runners.items():
            t, c = time.perf_counter(), time.process_time()
            run(args.steps)
            rates[name].append(BATCH * args.steps / (time.perf_counter() - t))
            cpu_rates[name].append(BATCH * args.steps / (time.process_time() - c))

    print(
        f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}; {args.rounds} rounds x {args.steps} steps of batch {BATCH}"
    )
    print(
        f"{'configuration':30s} {'median':>7s} {'best':>7s} {'vs xla':>7s}"
        f" {'per CPU-s':>9s} {'vs xla':>7s}"
    )
    for name in runners:
        cells = []
        for r in (rates, cpu_rates):
            base = r.get("xla")
            ratio = statistics.median(a / b for a, b in zip(r[name], base)) if base else 0.0
            cells.append((statistics.median(r[name]), max(r[name]), ratio))
        (med, best, ratio), (cpu_med, _, cpu_ratio) = cells
        print(f"{name:30s} {med:7.0f} {best:7.0f} {ratio:7.2f} {cpu_med:9.0f} {cpu_ratio:7.2f}")
    print(
        "samples/s: wall-clock median and best block; 'per CPU-s': samples per second of "
        "this process's CPU time (robust to other load); ratios: median over rounds of the "
        "same-round ratio to 'xla'."
    )
    if args.breakdown:
        breakdown(max(3, args.rounds // 2))


if __name__ == "__main__":
    main()
