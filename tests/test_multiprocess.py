"""Real multi-process runs: 2 processes x 2 CPU devices train as 1 process x 4 devices.

Each run starts fresh Python processes (``jax.distributed.initialize`` may be called once
per process, and only before any computation), talking over gloo on 127.0.0.1.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from kerax import distribution as D

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "_multiprocess_worker.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(devices: int, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_DISTRIBUTION_")}
    # the device count, and the suite's faster compile settings (tests/conftest.py): the
    # reference and the processes compile alike, so they still train alike
    fast = os.environ.get("KERAX_TEST_FAST_FLAGS", "")
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices} {fast}".strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def _finish(procs: list, timeout: float) -> list:
    """(returncode, stderr) of each process; kills those still running at the deadline."""
    deadline, out = time.monotonic() + timeout, []
    for p in procs:
        try:
            _, err = p.communicate(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        out.append((p.returncode, err.decode(errors="replace")))
    return out


def _gloo_available() -> bool:
    try:
        from jax._src.lib import _jax
    except ImportError:
        return False
    return hasattr(_jax, "make_gloo_tcp_collectives")


@pytest.mark.multi_device
def test_two_processes_train_like_one_process(tmp_path):
    if not _gloo_available():
        pytest.skip(f"this jaxlib ({jax.__version__}) has no gloo CPU collectives")
    port = _free_port()
    cluster = {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port},127.0.0.1:{port + 1}",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
    }
    run = lambda out, env: subprocess.Popen(  # noqa: E731
        [sys.executable, str(WORKER), str(tmp_path / out)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    procs = [run("reference.npz", _env(4))]
    procs += [
        run(f"p{i}.npz", _env(2, **cluster, KERAS_DISTRIBUTION_PROCESS_ID=str(i))) for i in (0, 1)
    ]
    results = _finish(procs, timeout=180)
    for name, (code, err) in zip(("reference", "process 0", "process 1"), results):
        assert code == 0, f"{name} failed:\n{err[-3000:]}"
    ref = np.load(tmp_path / "reference.npz")
    for i in (0, 1):
        got = np.load(tmp_path / f"p{i}.npz")
        assert int(got["devices"]) == int(ref["devices"]) == 4
        # each process holds half of every epoch's rows on its devices
        assert int(got["rows_held"]) == 20
        for key in ref.files:
            if key not in ("devices", "rows_held", "unseeded") and not key.startswith("shares"):
                np.testing.assert_allclose(got[key], ref[key], rtol=1e-6, atol=1e-6, err_msg=key)
    # process-local predict: each process got its own rows' outputs, together the reference's
    for key in ("shares_predict", "shares_stream_predict"):
        got = np.concatenate([np.load(tmp_path / f"p{i}.npz")[key] for i in (0, 1)])
        np.testing.assert_allclose(got, ref[key], rtol=1e-6, atol=1e-6, err_msg=key)
    assert len(np.load(tmp_path / "p0.npz")["shares_predict"]) == 7
    unseeded = [np.load(tmp_path / f"p{i}.npz")["unseeded"] for i in (0, 1)]
    np.testing.assert_array_equal(unseeded[0], unseeded[1])


def test_unreachable_coordinator_times_out_cleanly():
    port = _free_port()  # closed again: nothing listens there
    code = (
        "from kerax import distribution\n"
        f"distribution.initialize('127.0.0.1:{port}', num_processes=2, process_id=1, "
        "initialization_timeout=1)\n"
    )
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=_env(1), cwd=ROOT, stderr=subprocess.PIPE
    )
    [(returncode, err)] = _finish([proc], timeout=60)
    assert returncode == 1, err[-2000:]
    assert "TimeoutError: Could not reach the coordinator at 127.0.0.1:" in err
    assert time.monotonic() - start < 50


def test_a_process_that_never_joins_ends_the_others_with_a_message():
    # process 0 is the coordinator; process 1 never starts
    port = _free_port()
    code = (
        "from kerax import distribution\n"
        f"distribution.initialize('127.0.0.1:{port}', num_processes=2, process_id=0, "
        "initialization_timeout=2)\n"
        "print('initialized')\n"
    )
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=_env(0), cwd=ROOT, stderr=subprocess.PIPE
    )
    [(returncode, err)] = _finish([proc], timeout=60)
    assert returncode == 1, err[-2000:]
    assert "not all 2 processes joined the coordinator at 127.0.0.1:" in err
    assert "initialization_timeout=2 s" in err
    assert "Check failure" not in err  # kerax's message, not jax's abort
    assert time.monotonic() - start < 50


def test_initialize_argument_errors(monkeypatch):
    with pytest.raises(ValueError, match="lists 2 processes but num_processes is 3"):
        D.initialize("10.0.0.1:1234,10.0.0.2:1234", num_processes=3, process_id=0)
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "first")
    with pytest.raises(ValueError, match="KERAS_DISTRIBUTION_PROCESS_ID must be an integer"):
        D.initialize("10.0.0.1:1234", num_processes=2)
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    with pytest.raises(ValueError, match="must be host:port"):
        D.initialize("10.0.0.1", num_processes=2)
