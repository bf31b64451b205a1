"""A population's logs: one value per member for every log name."""

from __future__ import annotations

import jax
import numpy as np

from kerax.trainer._loops import precompile


class MemberLogs:
    """Each member's logs (arrays of shape ``(size,)``, in Keras's order) from the
    population's state: by NumPy from one transfer of the metric states when the
    engine's logs are exact there (``Engine.logs_on_host``, traced for one member), else
    by one vmapped compiled program."""

    def __init__(self, engine, state_like):
        self.engine = engine
        self.names = engine.log_names
        member = lambda a: jax.ShapeDtypeStruct(np.shape(a)[1:], a.dtype)
        one = jax.tree_util.tree_map(member, (state_like.losses, state_like.metrics))
        self.on_host = engine.logs_on_host(state_like.replace(losses=one[0], metrics=one[1]))
        self.compiled = None if self.on_host else jax.jit(jax.vmap(self._values))

    def _values(self, state):
        return tuple(self.engine.logs(state).values())

    def ready(self) -> bool:
        return self.on_host or self.compiled._cache_size() > 0

    def precompile(self, state) -> list:
        return [] if self.ready() else [precompile(self.compiled, state)]

    def __call__(self, state) -> dict[str, np.ndarray]:
        if not self.on_host:
            values = jax.device_get(self.compiled(state))
            return dict(zip(self.names, (np.asarray(v) for v in values)))
        losses, metrics = jax.device_get((state.losses, state.metrics))
        size = jax.tree_util.tree_leaves(losses)[0].shape[0]
        per_member = [
            self.engine.host_log_values(
                *jax.tree_util.tree_map(lambda a, m=m: a[m], (losses, metrics))
            )
            for m in range(size)
        ]
        return {
            name: np.asarray([values[k] for values in per_member])
            for k, name in enumerate(self.names)
        }
