"""The MNIST-shaped convnet: kerax ``fit`` against a PyTorch eager training loop, as ratios.

Both train the same network (Conv2D 32 3x3 relu -> MaxPool 2 -> Conv2D 64 3x3 relu ->
MaxPool 2 -> Flatten -> Dropout 0.5 -> Dense 10 softmax, Adam 1e-3) on the same random
``(samples, 28, 28, 1)`` data, batch 128, shuffled every epoch, loss and accuracy
tracked. PyTorch runs eager (its native NCHW layout, ``torch.set_num_threads(2)``);
kerax runs ``Model.fit`` exactly as ``benchmarks/fit_speed.py``'s convnet workload.

Each run is its own Python process, and the two alternate (kerax torch kerax torch
...), because the machine is shared and its usable CPU drifts. Reported: each run's
steady-state samples/s (median epoch after the first) and samples per second of the
process's CPU time, and the median over rounds of the paired ratio kerax / torch of
runs made back to back.

PyTorch is looked up on ``--torch-path`` (prepended to the torch runs' ``PYTHONPATH``
only, so a side install cannot shadow the kerax runs' packages):

    pip install --target /tmp/torchenv torch
    python benchmarks/convnet_torch.py --torch-path /tmp/torchenv --rounds 4
    python benchmarks/convnet_torch.py --torch-path /tmp/torchenv --cpus 0 --threads 1

Under load from other processes, PyTorch's two-thread loop degrades far more than XLA's
(its worker threads wait on each other at every parallel region), so on a shared
machine the second form, both pinned to one core, is the steadier comparison of the
work each does per sample.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 128


def _torch_epochs(x, y, epochs, threads):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(1600, 10),
    )  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), 1e-3, eps=1e-7)
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())  # (samples, 1, 28, 28)
    labels = torch.from_numpy(y.argmax(-1))
    n = len(xt)
    net.train()
    marks, loss, acc = [_clock()], 0.0, 0.0
    for _ in range(epochs):
        order = torch.randperm(n)
        loss_sum = torch.zeros(())
        correct = torch.zeros((), dtype=torch.long)
        for i in range(0, n, BATCH):
            idx = order[i : i + BATCH]
            xb, yb = xt[idx], labels[idx]
            opt.zero_grad(set_to_none=True)
            logits = net(xb)
            batch_loss = F.cross_entropy(logits, yb)
            batch_loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += batch_loss.detach() * len(idx)
                correct += (logits.argmax(-1) == yb).sum()
        loss, acc = float(loss_sum) / n, float(correct) / n
        marks.append(_clock())
    return marks, loss, acc


def _kerax_epochs(x, y, epochs):
    sys.path.insert(0, HERE)
    import fit_speed

    import kerax as keras

    keras.utils.set_random_seed(0)
    model = fit_speed._keras_model(keras, fit_speed.WORKLOADS["convnet"])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    marks = [_clock()]

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # logs are host values here: epoch done
            marks.append(_clock())

    history = model.fit(
        x, y, epochs=epochs, batch_size=BATCH, shuffle=True, verbose=0, callbacks=[EpochTimer()]
    )
    return marks, history.history["loss"][-1], history.history["accuracy"][-1]


def _clock():
    return time.perf_counter(), time.process_time()


def run_child(impl: str, samples: int, epochs: int, threads: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((samples, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, samples)]
    if impl == "torch":
        marks, loss, acc = _torch_epochs(x, y, epochs, threads)
    else:
        marks, loss, acc = _kerax_epochs(x, y, epochs)
    wall = [b[0] - a[0] for a, b in zip(marks, marks[1:])]
    cpu = [b[1] - a[1] for a, b in zip(marks, marks[1:])]
    return {
        "impl": impl,
        # steady state: the median epoch after the first (which traces and compiles)
        "samples_per_s": samples / statistics.median(wall[1:] or wall),
        # the same epochs per second of this process's CPU time, a companion less
        # sensitive to other load (but spin-waiting threads inflate it)
        "samples_per_cpu_s": samples / statistics.median(cpu[1:] or cpu),
        "first_epoch_s": wall[0],
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loss": float(loss),
        "accuracy": float(acc),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=6144, help="a multiple of 128")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--torch-path", default=None, help="a directory holding torch")
    parser.add_argument(
        "--cpus", default=None, help="pin both runs to these CPUs, e.g. 0 or 0,1 (Linux)"
    )
    parser.add_argument("--child", choices=("kerax", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.cpus:  # before jax or torch start their thread pools
            os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
        print(json.dumps(run_child(args.child, args.samples, args.epochs, args.threads)))
        return

    results: dict[str, list[dict]] = {"kerax": [], "torch": []}
    for _ in range(args.rounds):
        for impl in results:  # A B A B: drift hits both alike
            env = dict(os.environ)
            if impl == "torch" and args.torch_path:
                env["PYTHONPATH"] = os.pathsep.join(
                    p for p in (args.torch_path, env.get("PYTHONPATH")) if p
                )
            cmd = [sys.executable, __file__, "--child", impl]
            for flag in ("samples", "epochs", "threads", "cpus"):
                if getattr(args, flag) is not None:
                    cmd += [f"--{flag}", str(getattr(args, flag))]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if out.returncode != 0:
                sys.exit(f"the {impl} run failed:\n{out.stderr[-3000:]}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results[impl].append(r)
            print(
                f"{impl:6s} {r['samples_per_s']:8,.0f} samples/s  "
                f"{r['samples_per_cpu_s']:8,.0f} per CPU-s  first epoch "
                f"{r['first_epoch_s']:.2f} s  loss {r['loss']:.3f}  load "
                f"{os.getloadavg()[0]:.1f}",
                flush=True,
            )
    pairs = list(zip(results["kerax"], results["torch"]))
    wall = [k["samples_per_s"] / t["samples_per_s"] for k, t in pairs]
    cpu = [k["samples_per_cpu_s"] / t["samples_per_cpu_s"] for k, t in pairs]
    print(
        f"\nkerax / torch, median of {len(pairs)} back-to-back pairs: wall "
        f"{statistics.median(wall):.2f}x (pairs: {', '.join(f'{r:.2f}' for r in wall)}); "
        f"per CPU-s {statistics.median(cpu):.2f}x"
    )


if __name__ == "__main__":
    main()
