"""Devices, meshes and layouts: ``DeviceMesh``, ``TensorLayout``, ``LayoutMap``.

The vocabulary of ``kerax.distribution`` (Keras 3's names), over ``jax.sharding``'s
``Mesh`` and ``NamedSharding``; the distributions that use them are in the package.
"""

from __future__ import annotations

import collections.abc
import math
import re
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from kerax import _device_errors, _graph, _multihost


def list_devices(device_type: str | None = None) -> list[str]:
    """Devices as ``"cpu:0"``, ``"gpu:1"``... (all of them, or of one type)."""
    devices = _device_errors.devices(device_type)  # "No GPU found" says how to fix it
    return [f"{d.platform}:{d.id}" for d in devices]


def get_device_count(device_type: str | None = None) -> int:
    """The number of devices (of one type, e.g. ``"gpu"``, or of the default one)."""
    return len(_device_errors.devices(device_type))


def _resolve_devices(devices: Any) -> list:
    if devices is None:
        return jax.devices()
    by_name = {f"{d.platform}:{d.id}": d for d in jax.devices()}
    out = []
    for d in np.asarray(devices, dtype=object).reshape(-1).tolist():
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
        devices: device names (``"cpu:0"``) or jax devices; default all devices. Their
            count must equal the product of ``shape``.

    Attributes:
        devices: a NumPy array of the devices as given (default: their names), in the
            mesh's shape.
        backend_mesh: the ``jax.sharding.Mesh``.
    """

    def __init__(self, shape, axis_names, devices=None):
        if isinstance(axis_names, str):
            raise ValueError(
                f"axis_names must be a list of names, one per mesh dimension. Received the "
                f"string axis_names={axis_names!r}: use [{axis_names!r}]."
            )
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        shape, axis_names = tuple(shape), list(axis_names)
        if not shape or not axis_names:
            raise ValueError(
                f"DeviceMesh needs a non-empty shape and axis_names. Received: shape={shape}, "
                f"axis_names={axis_names}."
            )
        if any(not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
            raise ValueError(f"DeviceMesh shape must hold positive integers. Received: {shape}")
        shape = tuple(int(s) for s in shape)
        if len(shape) != len(axis_names):
            raise ValueError(
                f"DeviceMesh needs one axis name per dimension: shape={shape}, "
                f"axis_names={axis_names}."
            )
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"DeviceMesh axis names must be distinct. Received: {axis_names}")
        if devices is None:
            devices = list_devices()
        given = np.asarray(devices) if len(devices) else np.asarray([], dtype=object)
        resolved = _resolve_devices(devices)
        if math.prod(shape) != len(resolved):
            raise ValueError(
                f"DeviceMesh shape {shape} holds {math.prod(shape)} devices, but "
                f"{len(resolved)} were given. Make the shape's product equal the device count."
            )
        if len({id(d) for d in resolved}) != len(resolved):
            names = [f"{d.platform}:{d.id}" for d in resolved]
            raise ValueError(f"DeviceMesh devices must be distinct. Received: {names}")
        self._shape, self._axis_names = shape, axis_names
        self._devices = given.reshape(shape)
        self.jax_mesh = Mesh(np.asarray(resolved, dtype=object).reshape(shape), axis_names)

    shape = property(lambda self: self._shape, doc="The mesh shape.")
    axis_names = property(lambda self: self._axis_names, doc="One name per mesh axis.")
    devices = property(lambda self: self._devices, doc="The devices, shaped as the mesh.")
    backend_mesh = property(lambda self: self.jax_mesh, doc="The ``jax.sharding.Mesh``.")

    def axis_size(self, name: str) -> int:
        return self._shape[self._axis_names.index(name)]

    def __repr__(self) -> str:
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


class TensorLayout:
    """How one tensor's axes map onto mesh axes (``None``: replicated along that axis).

    Args:
        axes: one mesh axis name (or None) per tensor dimension, e.g. ``(None, "model")``.
        device_mesh: the mesh; a ``LayoutMap`` fills in its own when None.
    """

    def __init__(self, axes, device_mesh: DeviceMesh | None = None):
        if isinstance(axes, str):
            raise ValueError(
                f"TensorLayout axes must be a tuple with one mesh axis name (or None) per "
                f"tensor dimension. Received the string axes={axes!r}: use ({axes!r},)."
            )
        self._axes = tuple(axes)
        self._device_mesh = device_mesh
        self._validate_axes()

    axes = property(lambda self: self._axes, doc="One mesh axis name or None per dimension.")

    @property
    def device_mesh(self) -> DeviceMesh | None:
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh: DeviceMesh) -> None:
        if self._device_mesh is not None:
            raise ValueError(
                f"This TensorLayout already has a device mesh ({self._device_mesh}); it "
                "cannot be replaced. Make a new TensorLayout instead."
            )
        self._device_mesh = device_mesh
        self._validate_axes()

    def _validate_axes(self) -> None:
        if self._device_mesh is None:
            return
        unknown = [a for a in self._axes if a is not None and a not in self._device_mesh.axis_names]
        if unknown:
            raise ValueError(
                f"TensorLayout axes {self._axes} name {unknown}, which are not axes of the "
                f"mesh (axis_names={self._device_mesh.axis_names}). Use those names or None."
            )

    @property
    def backend_layout(self) -> NamedSharding:
        """The ``jax.sharding.NamedSharding``."""
        if self._device_mesh is None:
            raise ValueError(
                f"TensorLayout axes={self._axes} has no device mesh: pass "
                "device_mesh=DeviceMesh(...) or put it in a LayoutMap."
            )
        return NamedSharding(self._device_mesh.jax_mesh, PartitionSpec(*self._axes))

    def sharding(self, mesh: DeviceMesh) -> NamedSharding:
        return NamedSharding((self.device_mesh or mesh).jax_mesh, PartitionSpec(*self.axes))

    def __repr__(self) -> str:
        return f"<TensorLayout axes={self.axes}, device_mesh={self.device_mesh}>"


class LayoutMap(collections.abc.MutableMapping):
    """Variable layouts keyed by regular expressions on variable paths, as in Keras 3.

    ``layout_map[path]`` returns the layout stored under exactly ``path``, else the one
    whose key matches the *whole* path (``re.fullmatch``), else None; a path two keys
    match is an error. Values may be ``TensorLayout`` or a tuple/list of axes.

    Under a ``ModelParallel``, a variable's layout is looked up by its pytree path
    (``"dense/kernel"``, as in ``model.get_variables()``) and by its Keras-style
    ``variable.path`` (``"sequential/dense/kernel"``) where the trainer gives it; keys
    such as ``".*dense.*kernel"`` match both. A variable two keys match is an error.
    """

    def __init__(self, device_mesh: DeviceMesh):
        self._device_mesh = device_mesh
        self._layouts: dict[str, TensorLayout] = {}

    device_mesh = property(lambda self: self._device_mesh)

    def __setitem__(self, key: str, layout) -> None:
        if not isinstance(key, str):
            raise ValueError(f"LayoutMap keys are strings (regular expressions). Received: {key!r}")
        if key in self._layouts:
            raise ValueError(
                f"{key!r} is already in the LayoutMap (as {self._layouts[key]}). Each key may "
                "be set once: delete it first (del layout_map[key]) to replace it."
            )
        try:
            re.compile(key)
        except re.error as error:
            raise ValueError(
                f"LayoutMap key {key!r} is not a valid regular expression: {error}. Escape "
                "special characters with re.escape."
            ) from None
        if isinstance(layout, (tuple, list)):
            layout = TensorLayout(layout)
        if not isinstance(layout, TensorLayout):
            raise ValueError(
                f"A LayoutMap value must be a TensorLayout or a tuple of axes such as "
                f"(None, 'model'). Received: {layout!r} of type {type(layout).__name__}"
            )
        if layout.device_mesh is None and self._device_mesh is not None:
            layout.device_mesh = self._device_mesh
        self._layouts[key] = layout

    def matching_keys(self, path: str) -> list[str]:
        """The keys that give ``path`` its layout: the exact key, or every key that
        matches the whole path."""
        if path in self._layouts:
            return [path]
        return [key for key in self._layouts if re.fullmatch(key, path)]

    def __getitem__(self, path: str) -> TensorLayout | None:
        keys = self.matching_keys(path)
        if len(keys) > 1:
            raise ValueError(
                f"Path {path!r} matches several LayoutMap keys: {keys}. Make each variable "
                "path match at most one key."
            )
        return self._layouts[keys[0]] if keys else None

    def get(self, path: str, default=None):
        layout = self[path]
        return default if layout is None else layout

    def __contains__(self, key) -> bool:
        return key in self._layouts

    def __delitem__(self, key: str) -> None:
        del self._layouts[key]

    def __iter__(self):
        return iter(self._layouts)

    def __len__(self) -> int:
        return len(self._layouts)

    def __repr__(self) -> str:
        return f"<LayoutMap device_mesh={self._device_mesh}, {dict(self._layouts)}>"


def _same_mesh(a: DeviceMesh, b: DeviceMesh) -> bool:
    return a is b or (
        a.shape == b.shape
        and a.axis_names == b.axis_names
        and a.jax_mesh.devices.tolist() == b.jax_mesh.devices.tolist()
    )


def _path_hint(key: str, paths: list[str]) -> str:
    """Why a key written for Keras may match no kerax path."""
    first, _, rest = key.partition("/")
    if rest and re.fullmatch(r"[\w.-]+", first) and any(re.fullmatch(rest, p) for p in paths):
        return (
            f" The paths matched start at the layer, without the model's name "
            f"('dense/kernel', where Keras writes 'sequential/dense/kernel'): use {rest!r} "
            f"or '.*{rest}'."
        )
    if any(re.search(key, p) for p in paths):
        return f" It matches only part of a path: use '.*{key}.*' to match anywhere."
    return ""


def distribute_tensor(tensor: Any, layout: TensorLayout | jax.sharding.Sharding) -> Any:
    """``tensor`` laid out by ``layout`` (a ``TensorLayout`` or a jax sharding).

    Inside a compiled function it is a sharding constraint; outside, the array is
    placed on the mesh. A symbolic tensor (``kerax.Input``) is returned unchanged.
    """
    if isinstance(tensor, _graph.KerasTensor):
        return tensor
    if isinstance(layout, TensorLayout):
        layout = layout.backend_layout
    if not isinstance(layout, jax.sharding.Sharding):
        raise ValueError(
            "distribute_tensor expects a TensorLayout (with a device mesh) or a jax "
            f"sharding. Received: layout={layout!r} of type {type(layout).__name__}"
        )
    if isinstance(tensor, jax.core.Tracer):
        return jax.lax.with_sharding_constraint(tensor, layout)
    if isinstance(tensor, jax.Array) and tensor.sharding.is_equivalent_to(layout, tensor.ndim):
        return tensor
    return _multihost.put(tensor, layout)
