"""Keras 3's ``compile_metrics``: all compiled metrics as one entry of ``model.metrics``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.metrics._base import Metric
from kerax.trainer.compile_utils import CompiledMetrics, align, flatten_outputs


class CompileMetrics(Metric):
    """Keras 3's ``compile_metrics`` entry of ``model.metrics``: every compiled metric.

    Its variables hold the compiled metrics' states (one per array), made when the
    metrics are built from the first batch; its result is a dict keyed by log name.
    """

    def __init__(self, model: Any):
        super().__init__(name="compile_metrics")
        self._model = model
        self._tree = None

    @property
    def _compiled(self) -> CompiledMetrics | None:
        return self._model._compiled_metrics

    def build_state(self) -> None:
        compiled = self._compiled
        if self._tree is not None or compiled is None or not compiled.built:
            return
        leaves, self._tree = jax.tree_util.tree_flatten(compiled.initial_state())
        for i, leaf in enumerate(leaves):
            self.add_variable(leaf.shape, "zeros", str(leaf.dtype), name=f"state_{i}")

    @property
    def metrics(self) -> list[Metric]:
        """The compiled metric objects (Keras's ``compile_metrics.metrics``)."""
        return self._compiled.metric_objects if self._compiled is not None else []

    def _names(self) -> list[str]:
        loss = self._model._compiled_loss
        return list(loss.output_names if loss is not None else self._compiled.output_names)

    def _states(self):
        return jax.tree_util.tree_unflatten(self._tree, [v.value for v in self.variables])

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self._tree is None:
            return
        names, y_pred = self._names(), flatten_outputs(y_pred)
        new = self._compiled.update(
            self._states(),
            align(y_true, names, "y"),
            y_pred,
            align(sample_weight, names, "sample_weight"),
            jnp.ones((y_pred[0].shape[0],), jnp.float32),
        )
        for v, value in zip(self.variables, jax.tree_util.tree_leaves(new), strict=True):
            v.assign(value)

    def result(self):
        return {} if self._tree is None else self._compiled.results(self._states())

    def reset_state(self):
        if self._tree is not None:
            fresh = jax.tree_util.tree_leaves(self._compiled.initial_state())
            for v, value in zip(self.variables, fresh, strict=True):
                v.assign(value)
