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

import contextlib
import math
import os
import warnings
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from kerax import _multihost
from kerax._multihost import ProcessFeed, put, settle  # noqa: F401 (for the trainer)
from kerax.distribution._layouts import (
    DeviceMesh,
    LayoutMap,
    TensorLayout,
    _path_hint,
    _resolve_devices,
    _same_mesh,
    distribute_tensor,
    get_device_count,
    list_devices,
)

_distribution: Distribution | None = None


class Distribution:
    """Base class: where batches and variables live."""

    def __init__(
        self, device_mesh: DeviceMesh, batch_dim_name: str, auto_shard_dataset: bool = True
    ):
        if batch_dim_name not in device_mesh.axis_names:
            raise ValueError(
                f"The batch axis {batch_dim_name!r} is not an axis of the mesh "
                f"{device_mesh.axis_names}. Pass batch_dim_name= one of them."
            )
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = bool(auto_shard_dataset)

    @property
    def auto_shard_dataset(self) -> bool:
        """In multi-process runs, whether each process keeps only its share of the data."""
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value: bool) -> None:
        self._auto_shard_dataset = bool(value)

    device_mesh = property(lambda self: self._device_mesh, doc="The ``DeviceMesh``.")
    batch_dim_name = property(lambda self: self._batch_dim_name, doc="The mesh's batch axis.")

    @property
    def num_processes(self) -> int:
        return jax.process_count()

    @property
    def num_model_replicas(self) -> int:
        """How many copies of the model the batch axis holds (its size)."""
        return self.batch_devices

    @property
    def data_shard_id(self) -> int:
        """The data shard this process feeds (its index among the batch axis' groups)."""
        replicas, processes = self.num_model_replicas, self.num_processes
        if replicas >= processes:
            return jax.process_index()
        return jax.process_index() // (processes // replicas)

    @contextlib.contextmanager
    def scope(self):
        """Make this the distribution inside a ``with`` block (restored after it)."""
        previous = distribution()
        set_distribution(self)
        try:
            yield
        finally:
            set_distribution(previous)

    def get_data_layout(self, data_shape) -> TensorLayout:
        """Batches are split along their first dimension over the batch axis."""
        axes = [None] * len(data_shape)
        axes[0] = self.batch_dim_name
        return TensorLayout(axes, self.device_mesh)

    def get_variable_layout(self, variable) -> TensorLayout:
        """The layout of ``variable`` (by ``variable.path``): replicated by default."""
        layout = getattr(variable, "_layout", None)
        return (
            layout
            if layout is not None
            else TensorLayout([None] * len(variable.shape), self.device_mesh)
        )

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return None

    def distribute_dataset(self, dataset):
        """``dataset`` itself: kerax splits in-memory arrays among processes (and each
        batch among devices) in ``fit``; a stream must already yield this process's
        share when ``auto_shard_dataset`` is on in a multi-process run."""
        if not _multihost.multi_process() or not self.auto_shard_dataset:
            return dataset
        if isinstance(dataset, (np.ndarray, jax.Array, tuple, list, dict)):
            return dataset  # fit takes this process's rows (ProcessFeed)
        raise ValueError(
            f"kerax cannot auto-shard a dataset of type {type(dataset).__name__} among "
            f"{self.num_processes} processes. Pass NumPy arrays (each process keeps its "
            "rows), or shard the dataset yourself (process jax.process_index() of "
            "jax.process_count()) and set auto_shard_dataset=False."
        )

    @property
    def batch_devices(self) -> int:
        return self.device_mesh.axis_size(self.batch_dim_name)

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

    def variable_sharding(self, path: str, shape: tuple, alias: str | None = None) -> NamedSharding:
        return self.replicated()

    def state_shardings(
        self,
        trainable: Any,
        non_trainable: Any,
        opt_state: Any,
        variable_paths: dict[str, str] | None = None,
    ) -> tuple:
        """Shardings for a training state's trees: variables as ``variable_sharding``
        says (by their pytree paths, ``"dense/kernel"``, and their ``variable.path``,
        ``"sequential/dense/kernel"``, given as ``variable_paths``: pytree path to
        variable path), optimizer slots (Adam's mu and nu ...) like the variable whose
        path and shape they mirror, anything else replicated.
        Returns ``(trainable, non_trainable, opt_state, paths)``: ``paths`` every
        variable's pytree path, then the variable paths that differ from them."""
        by_path: dict[str, tuple] = {}
        aliases = variable_paths or {}
        name = lambda path: "/".join(str(getattr(k, "key", k)) for k in path)

        def variable(path, leaf):
            shape, key = tuple(np.shape(leaf)), name(path)
            by_path[key] = (self.variable_sharding(key, shape, aliases.get(key)), shape)
            return by_path[key][0]

        def slot(path, leaf):
            slot_name, shape = name(path), tuple(np.shape(leaf))
            for var, (sharding, var_shape) in by_path.items():
                if slot_name.endswith(var) and shape == var_shape:
                    return sharding
            return self.replicated()

        trainable = jax.tree_util.tree_map_with_path(variable, trainable)
        non_trainable = jax.tree_util.tree_map_with_path(variable, non_trainable)
        opt_state = jax.tree_util.tree_map_with_path(slot, opt_state)
        extra = [aliases[p] for p in by_path if aliases.get(p, p) != p]
        return trainable, non_trainable, opt_state, [*by_path, *extra]

    def constrain_state(
        self,
        trainable: Any,
        non_trainable: Any,
        opt_state: Any,
        variable_paths: dict[str, str] | None = None,
    ) -> tuple:
        """``state_shardings`` as sharding constraints (inside a compiled step)."""
        shardings = self.state_shardings(trainable, non_trainable, opt_state, variable_paths)[:3]
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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} device_mesh={self.device_mesh}>"


class DataParallel(Distribution):
    """Every batch split over all devices; variables replicated.

    Args:
        device_mesh: a 1-D mesh (default: all devices, axis ``"batch"``); of a larger
            mesh, batches are split along the first axis only.
        devices: devices for the default mesh (names such as ``"cpu:0"``).
        auto_shard_dataset: in multi-process runs, each process keeps only its share of
            array inputs.
    """

    def __init__(
        self, device_mesh: DeviceMesh | None = None, devices=None, auto_shard_dataset: bool = True
    ):
        if device_mesh is not None:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError(
                    "DataParallel's device_mesh must be a DeviceMesh (pass a list of devices "
                    f"as devices=...). Received: device_mesh={device_mesh!r} of type "
                    f"{type(device_mesh).__name__}"
                )
            if len(device_mesh.shape) != 1:
                warnings.warn(
                    f"DataParallel expects a 1-D mesh but received shape {device_mesh.shape}: "
                    f"batches are split along its first axis {device_mesh.axis_names[0]!r} "
                    "only, and the other axes' devices repeat the same work.",
                    stacklevel=2,
                )
        else:
            if devices is not None and not len(devices):
                raise ValueError("DataParallel received devices=[]: pass devices, or None for all.")
            names = list_devices() if devices is None else devices
            device_mesh = DeviceMesh((len(_resolve_devices(names)),), ["batch"], names)
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)

    @property
    def num_model_replicas(self) -> int:
        return math.prod(self.device_mesh.shape)


class ModelParallel(Distribution):
    """Variables laid out by a ``LayoutMap``; batches split along ``batch_dim_name``.

    Args:
        layout_map: a ``LayoutMap``; its mesh is the distribution's.
        batch_dim_name: the mesh axis batches are split along (default: the first).
        auto_shard_dataset: in multi-process runs, each process keeps only its share of
            array inputs.
        device_mesh: older Keras 3 argument; the layout map's mesh is used. Alone, it
            gives a ModelParallel with an empty layout map (every variable replicated).
    """

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
        if layout_map is not None and not isinstance(layout_map, LayoutMap):
            raise ValueError(
                "ModelParallel's layout_map must be a LayoutMap (LayoutMap(device_mesh), "
                f"then layout_map['.*dense.*kernel'] = (None, 'model')). Received: "
                f"{layout_map!r} of type {type(layout_map).__name__}"
            )
        if layout_map is None:
            layout_map = LayoutMap(device_mesh)
        elif device_mesh is not None and not _same_mesh(device_mesh, layout_map.device_mesh):
            raise ValueError(
                f"ModelParallel received device_mesh={device_mesh} and a layout_map on a "
                f"different mesh ({layout_map.device_mesh}). Leave out device_mesh: the "
                "layout map's mesh is used."
            )
        device_mesh = layout_map.device_mesh
        super().__init__(
            device_mesh, batch_dim_name or device_mesh.axis_names[0], auto_shard_dataset
        )
        self.layout_map = layout_map
        processes, replicas = self.num_processes, self.num_model_replicas
        if processes > replicas and processes % replicas:
            raise ValueError(
                f"{processes} processes do not divide into the {replicas} model replicas of "
                f"the mesh's {self.batch_dim_name!r} axis. Use a batch axis whose size divides "
                "the process count, or a multiple of it."
            )

    def get_variable_layout(self, variable) -> TensorLayout:
        layout = getattr(variable, "_layout", None)
        if layout is None:
            layout = self.layout_map[variable.path]
        return layout if layout is not None else super().get_variable_layout(variable)

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return self.layout_map[path]

    def variable_sharding(self, path: str, shape: tuple, alias: str | None = None) -> NamedSharding:
        """The sharding of the variable at pytree path ``path`` (``alias``: its
        ``variable.path``, when that differs) from the one layout-map key matching either."""
        keys = self.layout_map.matching_keys(path)
        if alias is not None and alias != path:
            keys += [k for k in self.layout_map.matching_keys(alias) if k not in keys]
        if len(keys) > 1:
            raise ValueError(
                f"Variable {alias or path!r} matches several LayoutMap keys: {keys}. Make "
                "each variable path match at most one key."
            )
        layout = self.layout_map._layouts[keys[0]] if keys else None
        if layout is None:
            return self.replicated()
        if len(layout.axes) != len(shape):
            raise ValueError(
                f"The layout {layout.axes} for variable '{alias or path}' has "
                f"{len(layout.axes)} axes, but the variable has shape {shape}. Give one "
                "mesh axis name or None per variable dimension."
            )
        mesh = layout.device_mesh or self.device_mesh
        for dim, (size, axis) in enumerate(zip(shape, layout.axes)):
            if axis is not None and size % mesh.axis_size(axis):
                raise ValueError(
                    f"Variable '{alias or path}' dimension {dim} has size {size}, which the "
                    f"{mesh.axis_size(axis)} devices of mesh axis "
                    f"{axis!r} do not divide. Change the layout or the layer size."
                )
        return layout.sharding(self.device_mesh)

    def check_layout_map(self, paths: list[str]) -> None:
        """Every key must match some variable (a typo would silently replicate).

        Keys for layer outputs (``"dense/output"``, Keras's intermediate-tensor
        layouts) match no variable: kerax leaves those layouts to XLA, with a warning.
        """
        for key in self.layout_map:
            if any(key in self.layout_map.matching_keys(p) for p in paths):
                continue
            if key.rstrip("$").endswith("output"):
                warnings.warn(
                    f"LayoutMap key {key!r} names a layer output: kerax lays out variables "
                    "and batches only, and leaves intermediate tensors to XLA (the results "
                    "are the same).",
                    stacklevel=2,
                )
                continue
            raise ValueError(
                f"The layout map key {key!r} matches no variable. A key must match a whole "
                f"variable path (re.fullmatch, as in Keras).{_path_hint(key, paths)} "
                f"Variables: {paths[:12]}{' ...' if len(paths) > 12 else ''}"
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
    "distribute_tensor",
    "distribution",
    "get_device_count",
    "initialize",
    "list_devices",
    "set_distribution",
]
