"""Multi-process support behind ``kerax.distribution``: joining a run, placing values and
data so that every process holds only what its own devices need.

Every process runs the same program (jax's multi-controller model). Values all
processes hold alike (weights, optimizer state) are placed by each process on its own
devices (:func:`put`); per-process data goes through :class:`ProcessFeed` (arrays) or
``Distribution.process_batch`` (streamed batches).
"""

from __future__ import annotations

import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from kerax import _scope


def multi_process() -> bool:
    """True in a run of several processes (after ``jax.distributed.initialize``)."""
    return jax.process_count() > 1


def settle(tree: Any) -> Any:
    """Wait for ``tree`` when the processes run on CPU with several devices each.

    There, XLA's CPU collectives (gloo; jax 0.10.2) deadlock when two multi-device
    programs are in flight at once: one device's thread enters the next program's
    all-reduce while another device is still in the previous one (measured: 50 queued
    all-reduces hang at the third; with a wait after each they run at ~7 ms). So kerax
    finishes each training or evaluation program before dispatching the next.
    """
    if multi_process() and jax.local_device_count() > 1 and jax.default_backend() == "cpu":
        jax.block_until_ready(tree)
    return tree


def put(tree: Any, sharding: NamedSharding) -> Any:
    """``jax.device_put`` that also works across processes, where every process holds the
    same host value (weights, optimizer state): jax will not copy a committed array from
    one process's device onto the others', so each process places its own copy."""
    if not multi_process():
        return jax.device_put(tree, sharding)

    def one(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            return jax.device_put(a, sharding)  # already global: at most a reshard
        a = np.asarray(a)
        return jax.make_array_from_process_local_data(sharding, a, a.shape)

    return jax.tree_util.tree_map(one, tree)


class ProcessFeed:
    """This process's share of every global batch of in-memory arrays (multi-process).

    Every epoch's global batches are those of a single-process run: the same permutation
    (the same key in every process) padded the same way. Each process gathers, on the
    host, only its rows of each batch, ``(steps, local_batch, ...)``, and places them as
    one global ``(steps, batch_size, ...)`` array split along the batch axis: a process's
    devices hold its share of the epoch, and step ``i`` reads ``data[i]``, which stays on
    each device. With ``auto_shard_dataset=False`` the arrays are the process's own rows
    and global batch ``i`` takes rows ``i * local_batch ...`` of every process.

    Args:
        dist: the distribution.
        data: the host arrays ``(x, y, sample_weight)``.
        n: their number of rows.
        batch_size: the global batch size.
    """

    def __init__(self, dist: Any, data: Any, n: int, batch_size: int):
        self.dist, self.batch_size, self.n = dist, batch_size, n
        self.data = jax.tree_util.tree_map(np.asarray, data)
        self.rows = dist.local_rows(batch_size)
        self.auto = dist.auto_shard_dataset
        self.steps = math.ceil(n / (batch_size if self.auto else len(self.rows)))
        if multi_process():
            from jax.experimental import multihost_utils

            counts = np.asarray(multihost_utils.process_allgather(np.int64([n, self.steps])))
            column, what = (0, "rows") if self.auto else (1, "steps")
            if len(set(counts[:, column].tolist())) > 1:
                hint = (
                    "With auto_shard_dataset=True every process passes the same, full arrays."
                    if self.auto
                    else "With auto_shard_dataset=False every process passes its own share, "
                    f"and all shares must give the same number of batches of {len(self.rows)}."
                )
                raise ValueError(
                    f"The processes passed different amounts of data: {what} per process "
                    f"{counts[:, column].tolist()} (rows {counts[:, 0].tolist()}). {hint}"
                )

    def arrange(self, permute: Callable | None = None) -> tuple:
        """``(x, y, sample_weight, mask)`` for one epoch.

        Args:
            permute: ``permute(order, n)`` shuffles the padded ``order`` of ``n`` rows as
                the single-process epoch does (the trainer passes the engine's own
                permutation, with the epoch's key); None keeps the rows in order.
        """
        b = self.batch_size if self.auto else len(self.rows)
        total = self.steps * b
        order = (np.arange(total) % self.n).astype(np.int32)  # padded with valid rows (masked)
        if permute is not None:
            order = np.asarray(permute(order, self.n))
        position = np.arange(total).reshape(self.steps, b)
        if self.auto:
            position = position[:, self.rows]
        mask = (position < self.n).astype(np.float32)
        local = jax.tree_util.tree_map(lambda a: a[order[position]], self.data)
        return jax.tree_util.tree_map(self._place, (*local, mask))

    def _place(self, a: np.ndarray) -> jax.Array:
        spec = PartitionSpec(None, self.dist.batch_dim_name)
        sharding = NamedSharding(self.dist.device_mesh.jax_mesh, spec)
        shape = (self.steps, self.batch_size, *a.shape[2:]) if multi_process() else None
        return jax.make_array_from_process_local_data(sharding, a, shape)


def local_shares(x: Any, local_batch: int) -> tuple[list, int]:
    """This process's rows of ``x`` cut into batches of ``local_batch`` (the last padded
    by repeating a row), ``(batches_with_n_valid, n)``, as many batches in every process:
    those with fewer rows add fully padded ones."""
    leaves = jax.tree_util.tree_leaves(x)
    n = len(leaves[0])
    steps = math.ceil(n / local_batch)
    if multi_process():
        from jax.experimental import multihost_utils

        steps = int(np.max(multihost_utils.process_allgather(np.int64(steps))))
    order = np.minimum(np.arange(steps * local_batch), max(n - 1, 0))

    def take(a, i):
        a = np.asarray(a)
        if len(a) == 0:  # nothing here: zeros of the right shape keep the collectives going
            return np.zeros((local_batch, *a.shape[1:]), a.dtype)
        return a[order[i * local_batch : (i + 1) * local_batch]]

    batches = [
        (
            jax.tree_util.tree_map(lambda a, i=i: take(a, i), x),
            min(local_batch, n - i * local_batch),
        )
        for i in range(steps)
    ]
    return batches, n


def local_rows_of(out: jax.Array, rows: np.ndarray) -> np.ndarray:
    """The given rows of a global array, read from this process's shards (which hold
    them however the program laid the array out: split along rows or replicated)."""
    result = np.empty((len(rows), *out.shape[1:]), out.dtype)
    filled = np.zeros(len(rows), bool)
    for shard in out.addressable_shards:
        span = shard.index[0] if shard.index else slice(None)
        start, stop = span.start or 0, out.shape[0] if span.stop is None else span.stop
        inside = (rows >= start) & (rows < stop) & ~filled
        if inside.any():
            result[inside] = np.asarray(shard.data)[rows[inside] - start]
            filled |= inside
    assert filled.all(), "a row of this process's share is on no local device"
    return result


def agree_on_seed() -> None:
    """Unless a global seed was set, take process 0's, so that every process builds the
    same weights and draws the same shuffles."""
    if not _scope.global_seed_is_set():
        from jax.experimental import multihost_utils

        seed = np.int32(int(np.random.SeedSequence().entropy % (2**31)))
        _scope.set_global_seed(int(multihost_utils.broadcast_one_to_all(seed)))


def env_int(value: int | None, name: str) -> int | None:
    if value is not None or name not in os.environ:
        return value
    try:
        return int(os.environ[name])
    except ValueError:
        raise ValueError(
            f"The environment variable {name} must be an integer. "
            f"Received: {name}={os.environ[name]!r}"
        ) from None


def host_port(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(
            f"The coordinator address must be host:port. Received: {address!r} (e.g. "
            "job_addresses='10.0.0.1:1234')."
        )
    return host.strip("[]"), int(port)


def wait_for(address: str, timeout: float) -> None:
    """Return once ``host:port`` accepts a TCP connection; TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(host_port(address), timeout=1.0):
                return
        except OSError as e:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Could not reach the coordinator at {address} within {timeout} s "
                    f"({e}). Check that process 0 runs and listens on that address and "
                    "port, that this host can connect to it, and that every process uses "
                    "the same job_addresses; or raise initialization_timeout."
                ) from None
            time.sleep(0.2)


def join_watchdog(address: str | None, num_processes: int | None, timeout: float):
    """Started before ``jax.distributed.initialize``; cancel it once that returns.

    When a process never joins, jax waits about twice ``initialization_timeout`` and then
    aborts every waiting process with a C++ check failure (``DEADLINE_EXCEEDED`` and a
    stack trace). This timer ends the process first, at ``timeout``, with a message that
    says what to check, and exit code 1.
    """

    def expire():
        where = f"the coordinator at {address}" if address else "the coordinator"
        sys.stderr.write(
            f"kerax.distribution.initialize: not all {num_processes or 'the'} processes "
            f"joined {where} within initialization_timeout={timeout} s. Start every "
            "process with the same job_addresses and num_processes and its own process_id "
            "(0 to num_processes - 1), check that they can reach the coordinator, or raise "
            "initialization_timeout. Stopping this process (exit code 1).\n"
        )
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    return timer
