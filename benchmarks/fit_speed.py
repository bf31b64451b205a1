"""Training speed: kerax ``fit`` against hand-written JAX loops and Keras 3, as ratios.

Each (workload, implementation) runs in its own Python process on identical data, and
the implementations alternate (A B A B ...) over ``--rounds`` so that drift in the
machine's usable CPU hits all of them alike. Reported per run: steady-state samples/s
(epochs after the first), the first epoch's time (trace + compile + run), the time from
the start (before the framework is imported) to the end of the first epoch, peak
memory (max RSS), final loss and accuracy; then each implementation's median ratio to the
best hand-written loop of the same workload.

Implementations:
  kerax      kerax ``Model.fit``
  jax_step   hand-written JAX + optax, one jitted step per batch (data on device)
  jax_scan   hand-written JAX + optax, the whole epoch in one ``lax.scan``
  keras      Keras 3 ``fit`` on the JAX backend (skipped when keras is not installed)
  kerax_cached  kerax with its persistent compilation cache warm (a second run of the
             same script: the cache is filled by one unrecorded run first)

After the table, the first-epoch targets: kerax's first epoch minus the per-step loop's,
and kerax's (cold and cached) as a fraction of Keras 3's.

    python benchmarks/fit_speed.py --workloads mlp --rounds 3
    python benchmarks/fit_speed.py --workloads mlp convnet large_mlp --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOADS = {
    # the tutorial MLP: 100 -> 64 relu -> 32 relu -> 10 softmax, Adam 1e-3, batch 32
    "mlp": dict(kind="mlp", features=100, hidden=(64, 32), samples=60_000, batch=32),
    # an MNIST-shaped convnet, batch 128
    "convnet": dict(kind="convnet", samples=6_000, batch=128),
    # a large-batch MLP: 784 -> 512 -> 512 -> 10, batch 1024
    "large_mlp": dict(kind="mlp", features=784, hidden=(512, 512), samples=60_000, batch=1024),
}
IMPLEMENTATIONS = ("kerax", "jax_step", "jax_scan", "keras", "kerax_cached")


def make_data(spec):
    import numpy as np

    rng = np.random.default_rng(0)
    n = spec["samples"]
    if spec["kind"] == "convnet":
        x = rng.random((n, 28, 28, 1), dtype=np.float32)
    else:
        x = rng.random((n, spec["features"]), dtype=np.float32)
    labels = rng.integers(0, 10, n)
    y = np.eye(10, dtype=np.float32)[labels]
    return x, y


# -- one run, in a child process ------------------------------------------------------------
def run_child(workload: str, impl: str, epochs: int) -> dict:
    spec = WORKLOADS[workload]
    x, y = make_data(spec)
    begin = time.perf_counter()  # before the framework is imported
    epoch_times, loss, acc, first_end = globals()[f"_train_{impl}"](spec, x, y, epochs)
    import resource

    steady = statistics.median(epoch_times[1:]) if len(epoch_times) > 1 else epoch_times[0]
    return {
        "workload": workload,
        "impl": impl,
        "samples_per_s": spec["samples"] / steady,
        "first_epoch_s": epoch_times[0],
        # import + model + compile + first epoch: what a script's user waits for
        "to_first_epoch_s": first_end - begin,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loss": loss,
        "accuracy": acc,
    }


def _keras_model(keras, spec):
    layers = keras.layers
    if spec["kind"] == "convnet":
        return keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                layers.Conv2D(32, 3, activation="relu"),
                layers.MaxPooling2D(2),
                layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(2),
                layers.Flatten(),
                layers.Dropout(0.5),
                layers.Dense(10, activation="softmax"),
            ]
        )
    return keras.Sequential(
        [keras.Input((spec["features"],))]
        + [layers.Dense(h, activation="relu") for h in spec["hidden"]]
        + [layers.Dense(10, activation="softmax")]
    )


def _fit_timed(model, x, y, spec, epochs, callback_base):
    """One fit call; a callback records when each epoch ends (logs are host values there)."""
    marks = [time.perf_counter()]

    class EpochTimer(callback_base):
        def on_epoch_end(self, epoch, logs=None):
            marks.append(time.perf_counter())

    history = model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=spec["batch"],
        verbose=0,
        shuffle=True,
        callbacks=[EpochTimer()],
    )
    epoch_times = [b - a for a, b in zip(marks, marks[1:])]
    history = history.history
    return epoch_times, float(history["loss"][-1]), float(history["accuracy"][-1]), marks[1]


def _train_kerax(spec, x, y, epochs):
    import kerax as keras

    keras.utils.set_random_seed(0)
    model = _keras_model(keras, spec)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return _fit_timed(model, x, y, spec, epochs, keras.callbacks.Callback)


_train_kerax_cached = _train_kerax  # the parent points KERAX_COMPILATION_CACHE at a cache


def _train_keras(spec, x, y, epochs):
    os.environ["KERAS_BACKEND"] = "jax"
    import keras

    keras.utils.set_random_seed(0)
    model = _keras_model(keras, spec)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return _fit_timed(model, x, y, spec, epochs, keras.callbacks.Callback)


def _jax_parts(spec):
    """Hand-written model, loss and Adam step shared by the two JAX loops."""
    import jax
    import jax.numpy as jnp
    import optax

    def dense(key, n_in, n_out):
        limit = (6 / (n_in + n_out)) ** 0.5
        return {
            "w": jax.random.uniform(key, (n_in, n_out), jnp.float32, -limit, limit),
            "b": jnp.zeros((n_out,), jnp.float32),
        }

    keys = iter(jax.random.split(jax.random.PRNGKey(0), 8))
    if spec["kind"] == "convnet":

        def conv(key, k, c_in, c_out):
            limit = (6 / (k * k * (c_in + c_out))) ** 0.5
            return {
                "w": jax.random.uniform(key, (k, k, c_in, c_out), jnp.float32, -limit, limit),
                "b": jnp.zeros((c_out,), jnp.float32),
            }

        params = {
            "c1": conv(next(keys), 3, 1, 32),
            "c2": conv(next(keys), 3, 32, 64),
            "out": dense(next(keys), 5 * 5 * 64, 10),
        }

        def pool(h):  # 2x2 max pooling, window == stride
            b, hh, ww, c = h.shape
            h = h[:, : hh // 2 * 2, : ww // 2 * 2]
            return h.reshape(b, hh // 2, 2, ww // 2, 2, c).max(axis=(2, 4))

        def forward(p, xb, key):
            dn = ("NHWC", "HWIO", "NHWC")
            h = jax.nn.relu(
                jax.lax.conv_general_dilated(
                    xb, p["c1"]["w"], (1, 1), "VALID", dimension_numbers=dn
                )
                + p["c1"]["b"]
            )
            h = pool(h)
            h = jax.nn.relu(
                jax.lax.conv_general_dilated(h, p["c2"]["w"], (1, 1), "VALID", dimension_numbers=dn)
                + p["c2"]["b"]
            )
            h = pool(h).reshape(xb.shape[0], -1)
            keep = jax.random.bernoulli(key, 0.5, h.shape)
            h = jnp.where(keep, h / 0.5, 0.0)
            return jax.nn.softmax(h @ p["out"]["w"] + p["out"]["b"])
    else:
        sizes = (spec["features"], *spec["hidden"], 10)
        params = {
            f"d{i}": dense(next(keys), a, b) for i, (a, b) in enumerate(zip(sizes, sizes[1:]))
        }

        def forward(p, xb, key):
            h = xb
            for i in range(len(sizes) - 1):
                h = h @ p[f"d{i}"]["w"] + p[f"d{i}"]["b"]
                h = jax.nn.relu(h) if i < len(sizes) - 2 else jax.nn.softmax(h)
            return h

    tx = optax.adam(1e-3, eps=1e-7)

    def loss_fn(p, xb, yb, key):
        probs = jnp.clip(forward(p, xb, key), 1e-7, 1 - 1e-7)
        loss = -jnp.mean(jnp.sum(yb * jnp.log(probs), axis=-1))
        return loss, jnp.mean(jnp.argmax(probs, -1) == jnp.argmax(yb, -1))

    def step(p, opt, xb, yb, key):
        (loss, acc), g = jax.value_and_grad(loss_fn, has_aux=True)(p, xb, yb, key)
        updates, opt = tx.update(g, opt, p)
        return optax.apply_updates(p, updates), opt, loss, acc

    return params, tx, step


def _train_jax_step(spec, x, y, epochs):
    import jax
    import jax.numpy as jnp

    params, tx, step = _jax_parts(spec)
    opt = tx.init(params)
    bs, n = spec["batch"], spec["samples"]
    steps = n // bs

    def batch_step(params, opt, xd, yd, perm, i, key):
        idx = jax.lax.dynamic_slice_in_dim(perm, i * bs, bs)
        return step(params, opt, xd[idx], yd[idx], jax.random.fold_in(key, i))

    jstep = jax.jit(batch_step, donate_argnums=(0, 1))
    xd, yd = jax.device_put(x), jax.device_put(y)
    key = jax.random.PRNGKey(1)
    permute = jax.jit(lambda k: jax.random.permutation(k, n))
    epoch_times, first_end = [], None
    start = time.perf_counter()
    for epoch in range(epochs):
        epoch_key = jax.random.fold_in(key, epoch)
        perm = permute(epoch_key)
        for i in range(steps):
            params, opt, loss, acc = jstep(params, opt, xd, yd, perm, i, epoch_key)
        jnp.asarray(loss).block_until_ready()
        now = time.perf_counter()
        epoch_times.append(now - start)
        first_end = first_end or now
        start = now
    return epoch_times, float(loss), float(acc), first_end


def _train_jax_scan(spec, x, y, epochs):
    import jax

    params, tx, step = _jax_parts(spec)
    opt = tx.init(params)
    bs, n = spec["batch"], spec["samples"]
    steps = n // bs

    @jax.jit
    def epoch_fn(params, opt, xd, yd, key):
        perm = jax.random.permutation(key, n)[: steps * bs].reshape(steps, bs)

        def body(carry, idx_i):
            p, o = carry
            idx, i = idx_i
            p, o, loss, acc = step(p, o, xd[idx], yd[idx], jax.random.fold_in(key, i))
            return (p, o), (loss, acc)

        (params, opt), (losses, accs) = jax.lax.scan(
            body, (params, opt), (perm, jax.numpy.arange(steps))
        )
        return params, opt, losses[-1], accs[-1]

    xd, yd = jax.device_put(x), jax.device_put(y)
    key = jax.random.PRNGKey(1)
    epoch_times, first_end = [], None
    start = time.perf_counter()
    for epoch in range(epochs):
        params, opt, loss, acc = epoch_fn(params, opt, xd, yd, jax.random.fold_in(key, epoch))
        loss.block_until_ready()
        now = time.perf_counter()
        epoch_times.append(now - start)
        first_end = first_end or now
        start = now
    return epoch_times, float(loss), float(acc), first_end


# -- the parent: alternate runs, report ratios ------------------------------------------------
def _available(impl: str) -> bool:
    if impl != "keras":
        return True
    import importlib.util

    return importlib.util.find_spec("keras") is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["mlp"], choices=sorted(WORKLOADS))
    parser.add_argument(
        "--impls", nargs="+", default=list(IMPLEMENTATIONS), choices=IMPLEMENTATIONS
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--samples", type=int, default=None, help="override every workload")
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.samples:
        for spec in WORKLOADS.values():
            spec["samples"] = args.samples
    if args.child:
        print(json.dumps(run_child(*args.child, args.epochs)))
        return

    impls = [i for i in args.impls if _available(i)]
    results: dict[tuple[str, str], list[dict]] = {}
    cache = tempfile.mkdtemp(prefix="kerax-bench-cache-")
    for workload in args.workloads:
        for warm_up in ([True] if "kerax_cached" in impls else []) + [False] * args.rounds:
            for impl in impls:  # A B C A B C: drift hits every implementation alike
                if warm_up and impl != "kerax_cached":
                    continue
                env = dict(os.environ)
                env.pop("KERAX_COMPILATION_CACHE", None)
                if impl == "kerax_cached":
                    env["KERAX_COMPILATION_CACHE"] = cache
                cmd = [
                    sys.executable,
                    __file__,
                    "--child",
                    workload,
                    impl,
                    "--epochs",
                    str(args.epochs),
                ]
                if args.samples:
                    cmd += ["--samples", str(args.samples)]
                out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
                if warm_up:
                    continue
                if out.returncode != 0:
                    print(f"{workload}/{impl} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                    continue
                run = json.loads(out.stdout.strip().splitlines()[-1])
                results.setdefault((workload, impl), []).append(run)
                print(  # as it goes: a run cut short still shows what it measured
                    f"{workload}/{impl}: {run['samples_per_s']:,.0f} samples/s, first epoch "
                    f"{run['first_epoch_s']:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
    _report(results, args)


def _paired(ours: list, theirs: list, key: str) -> str:
    """The ratio round by round (each round ran the two back to back): median and range."""
    ratios = sorted(a[key] / b[key] for a, b in zip(ours, theirs))
    if len(ratios) < 2:
        return ""
    median = statistics.median(ratios)
    return f" (paired rounds: median {median:.2f}, {ratios[0]:.2f}-{ratios[-1]:.2f})"


def _report(results, args) -> None:
    print(
        f"\n{'workload':10} {'impl':12} {'samples/s':>10} {'vs best JAX':>11} "
        f"{'1st epoch s':>11} {'start→1st':>9} {'peak MB':>8} {'loss':>7} {'acc':>6}"
    )
    for workload in args.workloads:
        runs = {impl: rs for (w, impl), rs in results.items() if w == workload}
        best = [
            statistics.median(r["samples_per_s"] for r in runs[i])
            for i in ("jax_step", "jax_scan")
            if i in runs
        ]
        ref = max(best) if best else None
        for impl, rs in runs.items():
            sps = statistics.median(r["samples_per_s"] for r in rs)
            ratio = f"{sps / ref:.2f}x" if ref else "-"
            first = statistics.median(r["first_epoch_s"] for r in rs)
            whole = statistics.median(r["to_first_epoch_s"] for r in rs)
            peak = max(r["peak_mb"] for r in rs)
            print(
                f"{workload:10} {impl:12} {sps:>10,.0f} {ratio:>11} {first:>11.2f} "
                f"{whole:>9.2f} {peak:>8.0f} {rs[-1]['loss']:>7.3f} {rs[-1]['accuracy']:>6.3f}"
            )
        firsts = {i: statistics.median(r["first_epoch_s"] for r in rs) for i, rs in runs.items()}
        notes = []
        if "kerax" in firsts and "jax_step" in firsts:
            notes.append(f"kerax - jax_step = {firsts['kerax'] - firsts['jax_step']:+.2f} s")
        for impl in ("kerax", "kerax_cached"):
            if impl in firsts and "keras" in firsts:
                notes.append(
                    f"{impl} / keras = {firsts[impl] / firsts['keras']:.2f}"
                    + _paired(runs[impl], runs["keras"], "first_epoch_s")
                )
        wholes = {i: statistics.median(r["to_first_epoch_s"] for r in rs) for i, rs in runs.items()}
        if "kerax" in wholes and "keras" in wholes:
            notes.append(
                f"start to first epoch end, kerax / keras = {wholes['kerax'] / wholes['keras']:.2f}"
            )
        if notes:
            print(f"{'':10} first epoch: " + ", ".join(notes))


if __name__ == "__main__":
    main()
