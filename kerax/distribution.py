"""``kerax.distribution``: Keras 3's distribution API over ``jax.sharding``.

    mesh = distribution.DeviceMesh((8,), ["batch"], devices=distribution.list_devices())
    distribution.set_distribution(distribution.DataParallel(device_mesh=mesh))
    model.fit(x, y, batch_size=64)        # each step's batch is split over the 8 devices

Data parallelism splits every batch along the mesh's batch axis and replicates the
variables; model parallelism lays variables out by a ``LayoutMap`` (regular expressions
on variable paths such as ``"dense_1/kernel"``). Both only *annotate* shardings: XLA's
partitioner inserts the collectives (the gradient all-reduce, the sharded matmuls).
There is no hand-written communication.
"""

from __future__ import annotations

import os
import re
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from kerax import _device_errors, _multihost
from kerax._multihost import ProcessFeed, put, settle  # noqa: F401 (for the trainer)

_distribution: Distribution | None = None


def list_devices(device_type: str | None = None) -> list[str]:
    """Devices as ``"cpu:0"``, ``"gpu:1"``... (all of them, or of one type)."""
    devices = _device_errors.devices(device_type)  # "No GPU found" says how to fix it
    return [f"{d.platform}:{d.id}" for d in devices]


def _resolve_devices(devices: Any) -> list:
    if devices is None:
        return jax.devices()
    by_name = {f"{d.platform}:{d.id}": d for d in jax.devices()}
    out = []
    for d in devices:
        if isinstance(d, str):
            if d not in by_name:
                _device_errors.devices(d.split(":")[0])  # "No GPU found" when none is
                raise ValueError(f"Unknown device {d!r}. Available: {sorted(by_name)}")
            out.append(by_name[d])
        else:
            out.append(d)
    return out


class DeviceMesh:
    """A named grid of devices.

    Args:
        shape: the mesh shape, e.g. ``(2, 4)``.
        axis_names: one name per mesh axis, e.g. ``["batch", "model"]``.
        devices: device names or objects; default all devices. Their count must equal
            the product of ``shape``.
    """

    def __init__(self, shape, axis_names, devices=None):
        shape, axis_names = tuple(int(s) for s in shape), list(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(
                f"DeviceMesh needs one axis name per dimension: shape={shape}, "
                f"axis_names={axis_names}."
            )
        devices = _resolve_devices(devices)
        if int(np.prod(shape)) != len(devices):
            raise ValueError(
                f"DeviceMesh shape {shape} holds {int(np.prod(shape))} devices, but "
                f"{len(devices)} were given. Make the shape's product equal the device count."
            )
        self.shape, self.axis_names, self.devices = shape, axis_names, devices
        self.jax_mesh = Mesh(np.asarray(devices, dtype=object).reshape(shape), axis_names)


class TensorLayout:
    """How one tensor's axes map onto mesh axes (``None``: replicated along that axis)."""

    def __init__(self, axes, device_mesh: DeviceMesh | None = None):
        self.axes = tuple(axes)
        self.device_mesh = device_mesh

    def sharding(self, mesh: DeviceMesh) -> NamedSharding:
        return NamedSharding((self.device_mesh or mesh).jax_mesh, PartitionSpec(*self.axes))


class LayoutMap:
    """Variable layouts keyed by regular expressions matched against variable paths."""

    def __init__(self, device_mesh: DeviceMesh):
        self.device_mesh = device_mesh
        self._layouts: dict[str, TensorLayout] = {}

    def __setitem__(self, pattern: str, layout) -> None:
        if not isinstance(layout, TensorLayout):
            layout = TensorLayout(layout, self.device_mesh)
        re.compile(pattern)
        self._layouts[pattern] = layout

    def __getitem__(self, path: str) -> TensorLayout | None:
        for pattern, layout in self._layouts.items():
            if re.search(pattern, path):
                return layout
        return None

    def __iter__(self):
        return iter(self._layouts)

    def __len__(self) -> int:
        return len(self._layouts)


class Distribution:
    """Base class: where batches and variables live."""

    def __init__(
        self, device_mesh: DeviceMesh, batch_dim_name: str, auto_shard_dataset: bool = True
    ):
        if batch_dim_name not in device_mesh.axis_names:
            raise ValueError(
                f"The batch axis {batch_dim_name!r} is not an axis of the mesh "
                f"{device_mesh.axis_names}."
            )
        self.device_mesh = device_mesh
        self.batch_dim_name = batch_dim_name
        self.auto_shard_dataset = auto_shard_dataset

    @property
    def batch_devices(self) -> int:
        return self.device_mesh.shape[self.device_mesh.axis_names.index(self.batch_dim_name)]

    def check_batch_size(self, batch_size: int) -> None:
        if batch_size % self.batch_devices:
            processes = jax.process_count()
            where = f" ({processes} processes)" if processes > 1 else ""
            raise ValueError(
                f"batch_size={batch_size} does not divide over the {self.batch_devices} "
                f"devices of the mesh's {self.batch_dim_name!r} axis{where}. batch_size is "
                f"the global batch (all processes together): use a multiple of "
                f"{self.batch_devices}."
            )

    def local_rows(self, batch_size: int) -> np.ndarray:
        """The rows of every global batch that this process's devices hold, in the order
        ``jax.make_array_from_process_local_data`` maps local data onto them."""
        self.check_batch_size(batch_size)
        index = self.batch_sharding(1).addressable_devices_indices_map((batch_size,))
        spans = sorted(
            {(s.start or 0, batch_size if s.stop is None else s.stop) for (s,) in index.values()}
        )
        return np.concatenate([np.arange(a, b) for a, b in spans])

    def process_batch(self, tree: Any) -> Any:
        """A batch this process holds its share of, as one global array per leaf."""
        if not _multihost.multi_process():
            return tree
        return jax.tree_util.tree_map(
            lambda a: jax.make_array_from_process_local_data(
                self.batch_sharding(np.ndim(a)), np.asarray(a)
            ),
            tree,
        )

    def batch_sharding(self, ndim: int) -> NamedSharding:
        spec = PartitionSpec(self.batch_dim_name, *([None] * (ndim - 1)))
        return NamedSharding(self.device_mesh.jax_mesh, spec)

    def replicated(self) -> NamedSharding:
        return NamedSharding(self.device_mesh.jax_mesh, PartitionSpec())

    def variable_sharding(self, path: str, shape: tuple) -> NamedSharding:
        return self.replicated()

    def state_shardings(self, trainable: Any, non_trainable: Any, opt_state: Any) -> tuple:
        """Shardings for a training state's trees: variables as ``variable_sharding``
        says (by their ``"layer/name"`` paths), optimizer slots (Adam's mu and nu ...)
        like the variable whose path and shape they mirror, anything else replicated.
        Returns ``(trainable, non_trainable, opt_state, variable_paths)``."""
        by_path: dict[str, tuple] = {}
        name = lambda path: "/".join(str(getattr(k, "key", k)) for k in path)

        def variable(path, leaf):
            shape = tuple(np.shape(leaf))
            by_path[name(path)] = (self.variable_sharding(name(path), shape), shape)
            return by_path[name(path)][0]

        def slot(path, leaf):
            slot_name, shape = name(path), tuple(np.shape(leaf))
            for var, (sharding, var_shape) in by_path.items():
                if slot_name.endswith(var) and shape == var_shape:
                    return sharding
            return self.replicated()

        trainable = jax.tree_util.tree_map_with_path(variable, trainable)
        non_trainable = jax.tree_util.tree_map_with_path(variable, non_trainable)
        opt_state = jax.tree_util.tree_map_with_path(slot, opt_state)
        return trainable, non_trainable, opt_state, list(by_path)

    def constrain_state(self, trainable: Any, non_trainable: Any, opt_state: Any) -> tuple:
        """``state_shardings`` as sharding constraints (inside a compiled step)."""
        shardings = self.state_shardings(trainable, non_trainable, opt_state)[:3]
        trees = (trainable, non_trainable, opt_state)
        return tuple(
            jax.tree_util.tree_map(jax.lax.with_sharding_constraint, tree, sharding)
            for tree, sharding in zip(trees, shardings)
        )

    def shard_batch(self, tree: Any) -> Any:
        """Constrain a batch (inside jit) to be split along the batch axis."""
        return jax.tree_util.tree_map(
            lambda a: jax.lax.with_sharding_constraint(a, self.batch_sharding(a.ndim)), tree
        )


class DataParallel(Distribution):
    """Every batch split over all devices; variables replicated.

    Args:
        device_mesh: a 1-D mesh (default: all devices, axis ``"batch"``).
        devices: devices for the default mesh.
        auto_shard_dataset: in multi-process runs, each process keeps only its share of
            array inputs.
    """

    def __init__(
        self, device_mesh: DeviceMesh | None = None, devices=None, auto_shard_dataset: bool = True
    ):
        if device_mesh is None:
            devices = _resolve_devices(devices)
            device_mesh = DeviceMesh((len(devices),), ["batch"], devices)
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)


class ModelParallel(Distribution):
    """Variables laid out by a ``LayoutMap``; batches split along ``batch_dim_name``."""

    def __init__(
        self,
        *,
        layout_map: LayoutMap | None = None,
        batch_dim_name: str | None = None,
        auto_shard_dataset: bool = True,
        device_mesh: DeviceMesh | None = None,
    ):
        if layout_map is None and device_mesh is None:
            raise ValueError("ModelParallel needs layout_map=LayoutMap(device_mesh).")
        device_mesh = device_mesh or layout_map.device_mesh
        super().__init__(
            device_mesh, batch_dim_name or device_mesh.axis_names[0], auto_shard_dataset
        )
        self.layout_map = layout_map or LayoutMap(device_mesh)

    def variable_sharding(self, path: str, shape: tuple) -> NamedSharding:
        layout = self.layout_map[path]
        if layout is None:
            return self.replicated()
        if len(layout.axes) != len(shape):
            raise ValueError(
                f"The layout {layout.axes} for variable '{path}' has {len(layout.axes)} axes, "
                f"but the variable has shape {shape}."
            )
        mesh = layout.device_mesh or self.device_mesh
        for dim, (size, axis) in enumerate(zip(shape, layout.axes)):
            if axis is not None and size % mesh.shape[mesh.axis_names.index(axis)]:
                raise ValueError(
                    f"Variable '{path}' dimension {dim} has size {size}, which the "
                    f"{mesh.shape[mesh.axis_names.index(axis)]} devices of mesh axis "
                    f"{axis!r} do not divide. Change the layout or the layer size."
                )
        return layout.sharding(self.device_mesh)

    def check_layout_map(self, paths: list[str]) -> None:
        """Every pattern must match some variable (a typo would silently replicate)."""
        for pattern in self.layout_map:
            if not any(re.search(pattern, p) for p in paths):
                raise ValueError(
                    f"The layout map key {pattern!r} matches no variable. Variables: "
                    f"{paths[:12]}{' ...' if len(paths) > 12 else ''}"
                )


def process_feed(data: Any, n: int, batch_size: int) -> ProcessFeed | None:
    """A :class:`ProcessFeed` for arrays in a multi-process run, else None."""
    if _distribution is None or not _multihost.multi_process():
        return None
    return ProcessFeed(_distribution, data, n, batch_size)


def set_distribution(value: Distribution | None) -> None:
    """Use ``value`` for every following ``fit``/``evaluate``/``predict`` (None: off)."""
    global _distribution
    if value is not None and not isinstance(value, Distribution):
        raise TypeError(f"Expected a kerax.distribution.Distribution. Received: {value!r}")
    _distribution = value


def distribution() -> Distribution | None:
    """The distribution set with ``set_distribution``, or None."""
    return _distribution


def initialize(
    job_addresses: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    initialization_timeout: int = 300,
) -> None:
    """Join a multi-process run (``jax.distributed.initialize``), before any computation.

    Call it first thing on every host (or process), with the same addresses and count and
    each process's own id. Arguments left as None are read, as Keras 3 reads them, from
    ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and
    ``KERAS_DISTRIBUTION_PROCESS_ID``; on Cloud TPU and under SLURM, jax can also detect
    them itself.

    Args:
        job_addresses: comma-separated ``host:port`` addresses of the processes; the
            first is the coordinator (process 0), the only one jax needs, so the
            coordinator's address alone is enough.
        num_processes: the number of processes.
        process_id: this process's index, ``0 .. num_processes - 1``.
        initialization_timeout: seconds to wait for the coordinator and the other
            processes before failing.

    Raises:
        ValueError: if the addresses and ``num_processes`` disagree, or an environment
            variable is not an integer.
        TimeoutError: if the coordinator cannot be reached within the timeout. If it is
            reached but not every process joins within the timeout, the process ends
            with exit code 1 and a message saying what to check (jax would abort it a
            little later with a C++ stack trace).

    Example:
        >>> # on each of 2 hosts, with KERAS_DISTRIBUTION_PROCESS_ID=0 or 1:
        >>> # distribution.initialize("10.0.0.1:1234", num_processes=2)

    On CPU the processes exchange data through gloo (``jax_cpu_collectives_implementation``;
    an explicit ``"mpi"`` is kept). Unless ``kerax.utils.set_random_seed`` was called, the
    processes then agree on one global seed (process 0's), so that weight initialization
    and shuffling are identical everywhere.
    """
    job_addresses = job_addresses or os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    num_processes = _multihost.env_int(num_processes, "KERAS_DISTRIBUTION_NUM_PROCESSES")
    process_id = _multihost.env_int(process_id, "KERAS_DISTRIBUTION_PROCESS_ID")
    coordinator = None
    if job_addresses:
        addresses = [a.strip() for a in job_addresses.split(",") if a.strip()]
        if len(addresses) > 1 and num_processes is not None and num_processes != len(addresses):
            raise ValueError(
                f"job_addresses lists {len(addresses)} processes but num_processes is "
                f"{num_processes}. Received: job_addresses={job_addresses!r}. List one address "
                "per process, or only the coordinator's."
            )
        coordinator = addresses[0]
        _multihost.host_port(coordinator)
    if getattr(jax.config, "jax_cpu_collectives_implementation", "gloo") in (None, "none"):
        # older jax had no CPU collectives by default: multi-process CPU runs would fail
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if coordinator and process_id:
        # jax aborts the whole process (SIGABRT) when it cannot reach the coordinator,
        # so probe the address first and fail as a Python error while we still can.
        _multihost.wait_for(coordinator, initialization_timeout)
    watchdog = _multihost.join_watchdog(coordinator, num_processes, initialization_timeout)
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator,
            num_processes=num_processes,
            process_id=process_id,
            initialization_timeout=int(initialization_timeout),
        )
    finally:
        watchdog.cancel()
    _multihost.agree_on_seed()


__all__ = [
    "DataParallel",
    "DeviceMesh",
    "Distribution",
    "LayoutMap",
    "ModelParallel",
    "TensorLayout",
    "distribution",
    "initialize",
    "list_devices",
    "set_distribution",
]
