"""Keras 3's stateless step API on the JAX backend, for models that write their own step.

A Keras model subclass may override ``train_step(self, state, data)``,
``test_step(self, state, data)``, ``predict_step(self, state, data)`` or ``compute_loss``
(the "customizing fit() with JAX" guide). Such a step is a pure function of explicit
state lists::

    state = (trainable_variables, non_trainable_variables, optimizer_variables,
             metrics_variables)           # train_step; test_step drops the optimizer's
    logs, state = model.train_step(state, (x, y))

built from ``model.stateless_call``, ``model.compute_loss``,
``model.optimizer.stateless_apply`` and each metric's ``stateless_update_state`` and
``stateless_result``. This mixin gives ``Model`` those pieces, Keras's default steps
(what ``super().train_step(state, data)`` runs) and Keras 3's ``model.metrics`` (the
loss tracker, then the compiled metrics as one ``compile_metrics`` entry, then metrics
held as attributes). ``kerax.trainer.custom_loop`` runs them inside ``fit``/``evaluate``/
``predict``; models that override none of them keep kerax's own compiled loops.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _scope
from kerax.trainer.compile_utils import CompiledLoss, CompiledMetrics, align, flatten_outputs

STEP_METHODS = ("train_step", "test_step", "predict_step", "compute_loss")


def overridden(model: Any) -> set[str]:
    """The step methods that the user's Model subclasses define (kerax's own excluded)."""
    from kerax.models.model import Model

    users = [
        c
        for c in type(model).__mro__
        if issubclass(c, Model) and not c.__module__.startswith("kerax.")
    ]
    names = (*STEP_METHODS, "compute_metrics")  # compute_metrics: Keras's loop runs it
    return {name for name in names if any(name in vars(c) for c in users)}


def check_overrides(model: Any) -> None:
    """Refuse what kerax cannot run: Keras's TensorFlow-style steps."""
    import inspect

    mine = overridden(model)
    for name in ("train_step", "test_step", "predict_step"):
        if name not in mine:
            continue
        params = [
            p
            for p in inspect.signature(getattr(model, name)).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if len(params) != 2:
            raise TypeError(
                f"{type(model).__name__}.{name} takes {len(params)} positional argument(s) "
                f"({', '.join(p.name for p in params)}); on JAX, Keras 3 and kerax call "
                f"{name}(self, state, data) and expect (logs, state) back "
                "(predict_step: (outputs, non_trainable_variables)). The one-argument "
                f"{name}(self, data) with tf.GradientTape is Keras's TensorFlow form: rewrite "
                "it with jax.value_and_grad over self.stateless_call (README: 'Your own "
                "train_step')."
            )


# -- the context of one traced step -----------------------------------------------------
class _StepContext:
    """The PRNG key of one step, the weights of its last ``stateless_call`` (their
    penalties) and, while Keras's default step runs ``compute_loss``, the model whose
    forward pass's ``add_loss`` losses ``model.losses`` returns (Keras's
    ``_losses_override``)."""

    def __init__(self, key: Any):
        self.key = key
        self.calls = 0
        self.trainable: dict[int, Any] = {}
        self.losses_of: Any = None
        self.losses: list[Any] = []


_step: contextvars.ContextVar[_StepContext | None] = contextvars.ContextVar(
    "kerax_custom_step", default=None
)


@contextlib.contextmanager
def step_context(key: Any):
    """Inside: ``stateless_call(training=True)`` without a key draws from ``key``."""
    token = _step.set(_StepContext(key))
    try:
        yield
    finally:
        _step.reset(token)


def call_key(training: bool) -> Any:
    """A fresh key for a ``stateless_call`` inside a step (Keras keeps a seed variable)."""
    context = _step.get()
    if context is None or not training or context.key is None:
        return None
    context.calls += 1
    return jax.random.fold_in(context.key, context.calls)


def record_call(model: Any, trainable_values: list) -> None:
    """Remember a ``stateless_call``'s weights: ``compute_loss`` adds their penalties.

    Its ``add_loss`` losses are not kept: as in Keras, only the default steps hand them
    to ``compute_loss`` (``KerasSteps._loss_and_updates``); a step of the user's that
    asks for them (``return_losses=True``) adds them itself.
    """
    context = _step.get()
    if context is not None:
        context.trainable = {
            id(v): value for v, value in zip(model.trainable_variables, trainable_values)
        }


@contextlib.contextmanager
def _forward_losses(model: Any, losses: list):
    """Inside: ``model.losses`` is the forward pass's ``losses`` and the weights'
    penalties at the step's values (Keras's ``_losses_override``)."""
    context = _step.get()
    saved = context.losses_of, context.losses
    context.losses_of, context.losses = model, list(losses)
    try:
        yield
    finally:
        context.losses_of, context.losses = saved


class _Named:
    """A stand-in with a metric's name (``KerasSteps._keras_order``)."""

    def __init__(self, name: str):
        self.name = name


def keras_steps_metrics_overridden(model: Any) -> bool:
    """Whether the model's class defines its own ``metrics`` property (Keras's guide:
    ``return [self.loss_tracker, self.mae_metric]``)."""
    return type(model).metrics is not KerasSteps.metrics


def _unpack(data):
    from kerax.data.streams import unpack

    return unpack(data)


class KerasSteps:
    """The stateless pieces and default steps of Keras 3's JAX trainer (mixed into Model)."""

    # -- metrics, Keras 3's way ----------------------------------------------------------
    @property
    def metrics(self) -> list:
        """Keras 3's order: the loss tracker, ``compile_metrics``, the per-output loss
        trackers, then metrics that are attributes of the model
        (``self.loss_tracker = keras.metrics.Mean(...)``) or of its layers."""
        pending = self.__dict__.pop("_keras_pending", None)
        if pending is not None:
            self._write_pending(*pending)
        out = []
        if self.compiled:
            out.append(self._loss_tracker())
            if any(spec is not None for spec in self._metric_spec):
                out.append(self._compile_metrics_entry())
            out += self._output_loss_trackers()
        return out + [m for m in self._attribute_metrics() if m not in out]

    def _attribute_metrics(self) -> list:
        """The metrics held as attributes of the model or of its layers, not those of
        nested models (Keras: a nested Trainer has its own), in Keras's order."""
        from kerax.metrics import Metric
        from kerax.models.model import Model

        # Layer._own_metrics's scan, in one pass without a list per attribute: it runs
        # at each fit/evaluate/train_on_batch (Setup._reset_attribute_metrics).
        out: list = []
        for layer in self._flat_layers():
            if layer is not self and isinstance(layer, Model):
                continue
            for name, value in vars(layer).items():
                if isinstance(value, Metric):
                    found = (value,)
                elif isinstance(value, (list, tuple)):
                    found = [m for m in value if isinstance(m, Metric)]
                else:
                    continue
                if found and not name.startswith("_keras_"):
                    out += [m for m in found if m not in out]
        return out

    def _keras_order(self, keys: list) -> list:
        """``keys`` (log names) in the order of Keras's ``_flatten_metrics_in_order``:
        those named by ``model.metrics`` in its order (the compiled metrics by their
        objects' names), then the rest sorted."""
        from kerax.trainer.compile_metrics import CompileMetrics

        if keras_steps_metrics_overridden(self) or self._runs_custom("test_step"):
            metrics = self.metrics  # the model's own list (Keras reads it)
        else:  # the same list, without building the compile_metrics entry
            compiled = self._compiled_metrics
            metrics = [_Named("loss")] if self.compiled else []
            if compiled is not None and compiled.built:
                metrics += [_Named(m.name) for m in compiled.metric_objects]
            loss = self._compiled_loss
            metrics += [_Named(n) for n in (loss.per_output_names if loss else [])]
            metrics += self._attribute_metrics()
        names: list = []
        for metric in metrics:
            if isinstance(metric, CompileMetrics):
                names += [m.name for m in metric.metrics]
            else:
                names.append(metric.name)
        first = [n for n in dict.fromkeys(names) if n in keys]
        return first + sorted(k for k in keys if k not in first)

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def _loss_tracker(self):
        if self.__dict__.get("_keras_loss_tracker") is None:
            from kerax.metrics import Mean

            # Set through __dict__: as an attribute it would be listed twice in metrics.
            self.__dict__["_keras_loss_tracker"] = Mean(name="loss")
        return self.__dict__["_keras_loss_tracker"]

    def _output_loss_trackers(self) -> list:
        """Keras's ``a_loss``, ``b_loss``... trackers of a multi-output compiled loss."""
        loss = self._compiled_loss
        names = loss.per_output_names if loss is not None else []
        trackers = self.__dict__.get("_keras_output_losses") or []
        if [t.name for t in trackers] != names:
            from kerax.metrics import Mean

            trackers = [Mean(name=name) for name in names]
            self.__dict__["_keras_output_losses"] = trackers
        return trackers

    def _write_pending(self, losses, metrics) -> None:
        """The numbers of the last run of kerax's own loops, into ``model.metrics``."""
        trackers = [self._loss_tracker(), *self._output_loss_trackers()]
        for tracker, (total, count) in zip(trackers, losses):
            tracker.set_state({"total": np.float32(total), "count": np.float32(count)})
        if any(spec is not None for spec in self._metric_spec):
            entry = self._compile_metrics_entry()
            leaves = jax.tree_util.tree_leaves(metrics)
            if entry._tree is not None and len(leaves) == len(entry.variables):
                for variable, value in zip(entry.variables, leaves):
                    variable.assign(value)

    def get_metrics_result(self) -> dict:
        """Every metric's current result, dict results merged (Keras's method)."""
        out: dict = {}
        for metric in self.metrics:
            result = metric.result()
            out.update(result if isinstance(result, dict) else {metric.name: result})
        return out

    def _compile_metrics_entry(self):
        from kerax.trainer.compile_metrics import CompileMetrics

        entry = self.__dict__.get("_keras_compile_metrics")
        if entry is None or (entry._tree is not None and not self._compiled_metrics.built):
            entry = CompileMetrics(self)  # a new compile(): new metrics, new state
            self.__dict__["_keras_compile_metrics"] = entry
        entry.build_state()
        return entry

    def _build_for_steps(self, data: Any) -> None:
        """Build the model, compiled loss and compiled metrics from one batch (Keras's
        symbolic build before the first step), so that every state list has its size."""
        from kerax.data.streams import unpack

        x, y, _ = unpack(data)
        self._build_from_data(x)
        if not self.compiled:
            return
        names = self._output_names(x)
        loss, loss_weights = self._loss_spec
        if self._compiled_loss is None and loss is not None:
            self._compiled_loss = CompiledLoss(loss, loss_weights, names)
        if self._compiled_metrics is None:
            self._compiled_metrics = CompiledMetrics(*self._metric_spec, names, self._compiled_loss)
        if not self._compiled_metrics.built and y is not None:
            y_pred, _ = self._forward_spec(x)
            self._compiled_metrics.build(align(y, names, "y"), flatten_outputs(y_pred))
        if self._compiled_metrics.entries:
            self._compile_metrics_entry()

    # -- the loss ----------------------------------------------------------------------------
    @property
    def losses(self) -> list:
        """Inside ``compute_loss`` run by the default train/test step: the ``add_loss``
        losses of the step's forward pass, then the weights' penalties at the step's
        values (Keras's ``_losses_override``). Elsewhere: the last eager call's losses
        and the penalties (``Layer.losses``)."""
        context = _step.get()
        if context is None or context.losses_of is not self:
            return super().losses
        return [*context.losses, *self._step_penalties(context)]

    def _step_penalties(self, context: _StepContext) -> list:
        """The regularizers' penalties at the weights of the step's last ``stateless_call``
        (so they are differentiated)."""
        return [
            v.regularizer(context.trainable[id(v)])
            for v in self.trainable_variables
            if v.regularizer is not None and id(v) in context.trainable
        ]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus the losses layers added and the weight penalties.

        Inside a step the weights' penalties are taken at the step's last
        ``stateless_call``'s values (so they are differentiated); the added losses are the
        forward pass's when the default step runs it (``self.losses``, as in Keras), none
        in a step of the user's. Outside a step, ``self.losses``.
        """
        del x, training  # as in Keras, the default ignores them
        total = jnp.zeros((), jnp.float32)
        if self._compiled_loss is not None and y_pred is not None:
            names = self._compiled_loss.output_names
            preds = flatten_outputs(y_pred)
            mask = jnp.ones((preds[0].shape[0],), jnp.float32)
            total, parts = self._compiled_loss(
                align(y, names, "y"), preds, align(sample_weight, names, "sample_weight"), mask
            )
            if _scope.current() is not None:  # inside a step's binding: Keras's trackers
                for tracker, part in zip(self._output_loss_trackers(), parts):
                    tracker.update_state(part, sample_weight=preds[0].shape[0])
        context = _step.get()
        if context is not None and context.losses_of is not self and context.trainable:
            extra = self._step_penalties(context)
        else:
            extra = self.losses
        for loss in extra:
            total = total + jnp.sum(loss).astype(jnp.float32)
        return total

    # -- Keras's default steps -------------------------------------------------------------
    def _loss_and_updates(self, trainable, non_trainable, metrics_vars, x, y, sw, training):
        """Forward pass and ``compute_loss``. Inside ``compute_loss``, as in Keras's
        stateless scope, the model's weights read the step's values (layers it calls, a
        distiller's teacher and student, are differentiated) and metric updates and
        non-trainable writes are recorded."""
        if _step.get() is None:  # a default step called outside kerax's loops
            with step_context(None):
                return self._loss_and_updates(
                    trainable, non_trainable, metrics_vars, x, y, sw, training
                )
        # the add_loss terms only: self.losses adds the penalties (_step_penalties)
        y_pred, non_trainable, losses = self._stateless_forward(
            trainable, non_trainable, (x,), training, None
        )
        handles = self.metrics_variables
        weights = self.non_trainable_variables
        values = dict(zip(map(id, self.trainable_variables), trainable))
        values.update(zip(map(id, weights), non_trainable))
        values.update(zip(map(id, handles), metrics_vars))
        context = _step.get()
        key = None if context is None or context.key is None else (lambda: call_key(True))
        scope = _scope.Scope(values=values, key=key)
        with _scope.bind(scope), _forward_losses(self, losses):
            loss = self._compute_loss(x, y, y_pred, sw, training)
        metrics_vars = [scope.updates.get(id(h), v) for h, v in zip(handles, metrics_vars)]
        non_trainable = [scope.updates.get(id(h), v) for h, v in zip(weights, non_trainable)]
        return loss, (y_pred, non_trainable, metrics_vars)

    def _compute_loss(self, x, y, y_pred, sample_weight, training):
        """``compute_loss``, also when an override was written before Keras 3.3 added its
        ``training`` argument."""
        if "training" in inspect.signature(self.compute_loss).parameters:
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def stateless_compute_loss(
        self,
        trainable_variables: list,
        non_trainable_variables: list,
        metrics_variables: list,
        x=None,
        y=None,
        y_pred=None,
        sample_weight=None,
        training: bool = True,
    ) -> tuple:
        """Keras's ``stateless_compute_loss``: ``compute_loss`` with every variable read
        from the given lists (in the order of ``trainable_variables``,
        ``non_trainable_variables`` and ``metrics_variables``), so it can be
        differentiated and jitted.

        Returns:
            ``loss, (trainable_variables, non_trainable_variables, metrics_variables)``,
            the last two with the values ``compute_loss`` wrote (its loss trackers).
        """
        lists = (
            (self.trainable_variables, trainable_variables),
            (self.non_trainable_variables, non_trainable_variables),
            (self.metrics_variables, metrics_variables),
        )
        for (handles, values), what in zip(lists, ("trainable", "non_trainable", "metrics")):
            if len(values) != len(handles):
                raise ValueError(
                    f"stateless_compute_loss: model '{self.name}' has {len(handles)} "
                    f"{what} variables, received {len(values)} values. Pass "
                    f"[v.value for v in model.{what}_variables] (updated by your step)."
                )
        values = {id(h): v for handles, given in lists for h, v in zip(handles, given)}
        scope = _scope.Scope(values=values)
        with _scope.bind(scope):
            loss = self._compute_loss(x, y, y_pred, sample_weight, training)
        updated = [
            [scope.updates.get(id(h), v) for h, v in zip(handles, given)]
            for handles, given in lists[1:]
        ]
        return loss, (trainable_variables, *updated)

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics with a batch; return every metric's result.

        Keras's default. Inside a step the metrics' variables are bound to the step's
        values, so an override may call ``metric.update_state(...)`` on any metric in
        ``model.metrics`` (and ``super().compute_metrics(...)``): the step carries the
        new values, as Keras's ``StatelessScope`` does.
        """
        del x  # the default does not use it, as in Keras
        entry = self.__dict__.get("_keras_compile_metrics")
        if entry is not None and y is not None:
            entry.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def _update_step_metrics(self, metrics_vars, loss, x, y, y_pred, sw):
        """The loss tracker (weighted by the batch's rows), then ``compute_metrics``,
        with every metric's variables bound to ``metrics_vars``."""
        rows = jax.tree_util.tree_leaves(x)[0].shape[0]
        metrics = self.metrics
        handles = [v for m in metrics for v in m.variables]
        scope = _scope.Scope(values={id(h): v for h, v in zip(handles, metrics_vars)})
        tracker = self.__dict__.get("_keras_loss_tracker")
        with _scope.bind(scope):
            if any(m is tracker for m in metrics):  # a `metrics` override may leave it out
                tracker.update_state(loss, sample_weight=rows)
            logs = self.compute_metrics(x, y, y_pred, sw)
        return logs, [scope.updates.get(id(h), v) for h, v in zip(handles, metrics_vars)]

    def train_step(self, state, data):
        """Keras's default train step: ``(logs, state)`` after one batch."""
        trainable, non_trainable, optimizer_vars, metrics_vars = state
        x, y, sw = _unpack(data)

        from kerax.optimizers import loss_scale

        opt_state = self.optimizer._state_of(optimizer_vars)

        def loss_fn(trainable):
            loss, aux = self._loss_and_updates(
                trainable, non_trainable, metrics_vars, x, y, sw, True
            )
            # Keras's scale_loss, with the scale of this step's optimizer state
            return loss_scale.scale_gradients(loss, self.optimizer, opt_state), (loss, *aux)

        (_, (loss, y_pred, non_trainable, metrics_vars)), grads = jax.value_and_grad(
            loss_fn, has_aux=True
        )(list(trainable))
        trainable, optimizer_vars = self.optimizer.stateless_apply(optimizer_vars, grads, trainable)
        logs, metrics_vars = self._update_step_metrics(metrics_vars, loss, x, y, y_pred, sw)
        return logs, (trainable, non_trainable, optimizer_vars, metrics_vars)

    def test_step(self, state, data):
        """Keras's default test step: ``(logs, state)`` after one batch."""
        trainable, non_trainable, metrics_vars = state
        x, y, sw = _unpack(data)
        loss, (y_pred, non_trainable, metrics_vars) = self._loss_and_updates(
            trainable, non_trainable, metrics_vars, x, y, sw, False
        )
        logs, metrics_vars = self._update_step_metrics(metrics_vars, loss, x, y, y_pred, sw)
        return logs, (trainable, non_trainable, metrics_vars)

    def predict_step(self, state, data):
        """Keras's default predict step: ``(outputs, non_trainable_variables)``."""
        trainable, non_trainable = state
        x, _, _ = _unpack(data)
        return self.stateless_call(trainable, non_trainable, x, training=False)
