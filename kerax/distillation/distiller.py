"""``Distiller``: train a student model on labels and on a frozen teacher's outputs.

A ``Distiller`` is a subclassed ``Model`` whose ``call`` is the student's and whose
``compute_loss`` is Keras 3.15's::

    total = w * student_loss + (1 - w) * sum_i(weight_i * distillation_loss_i)

with ``w = student_loss_weight``. It runs in Keras's stateless steps
(``kerax.trainer.keras_steps``): inside ``compute_loss`` the teacher and the student read
the step's weight values, so the gradient flows into the student, and the teacher's
weights, made non-trainable, are never updated. Intermediate features come from
functional "feature extractor" models that share the teacher's and student's layers.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kerax import _warnings, metrics, tree
from kerax.distillation.distillation_loss import _loss_function
from kerax.models.model import Model


def _shape_mismatch(context: str, teacher: tuple, student: tuple) -> str | None:
    if len(teacher) != len(student):
        return (
            f"Teacher and student {context} shapes have different ranks. Teacher: {teacher}, "
            f"Student: {student}."
        )
    if any(t is not None and s is not None and t != s for t, s in zip(teacher, student)):
        return (
            f"Teacher and student {context} shapes are incompatible. Teacher: {teacher}, "
            f"Student: {student}. All known dimensions must match."
        )
    return None


def _symbolic(model: Any, what: str) -> list | None:
    """``model.inputs``/``outputs``, or None for a model without a functional graph."""
    return getattr(model, what, None)


def _check_pairs(teacher: Any, student: Any) -> None:
    """Keras's input/output shape and dtype checks between two functional models."""
    for what in ("inputs", "outputs"):
        t, s = _symbolic(teacher, what), _symbolic(student, what)
        if t is None or s is None:
            continue
        if len(t) != len(s):
            raise ValueError(
                f"Teacher and student have different numbers of {what}: {len(t)} and {len(s)}."
            )
        for a, b in zip(t, s):
            problem = _shape_mismatch(what[:-1], a.shape, b.shape)
            if problem:
                raise ValueError(problem)
    for what in ("inputs", "outputs"):
        t, s = _symbolic(teacher, what), _symbolic(student, what)
        if t is None or s is None:
            return
        for a, b in zip(t, s):
            if a.dtype != b.dtype:
                raise ValueError(
                    f"Teacher and student {what[:-1]} dtypes must match. Teacher: "
                    f"{a.dtype.name}, Student: {b.dtype.name}."
                )


class Distiller(Model):
    """Knowledge distillation: a student learns from labels and from a frozen teacher.

    Args:
        teacher: a trained ``keras.Model``; it is frozen (``trainable = False``).
        student: the ``keras.Model`` to train.
        distillation_losses: a ``DistillationLoss`` (``LogitsDistillation``,
            ``FeatureDistillation`` or your own), or a list of them.
        distillation_loss_weights: one weight per distillation loss (a list);
            ``None`` weighs each 1.0. Ignored when ``distillation_losses`` is a single
            loss, as in Keras.
        student_loss_weight: the weight ``w`` in ``w * student_loss + (1 - w) *
            distillation_loss``, in ``[0, 1]``. Defaults to 0.5.
        name: the model's name. Defaults to ``"distiller"``.
        **kwargs: ``Model`` arguments (``trainable``, ``dtype``).

    Raises:
        ValueError: for a teacher or student that is not a model, incompatible input or
            output shapes or dtypes, a bad ``student_loss_weight``, ``None`` losses,
            weights of the wrong length, or a loss that does not fit the models.

    Example:
        >>> import kerax as keras
        >>> teacher = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        >>> student = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        >>> distiller = keras.distillation.Distiller(
        ...     teacher, student, keras.distillation.LogitsDistillation(temperature=2.0))
        >>> teacher.trainable, distiller.student is student
        (False, True)
    """

    _keras_module = "keras.distillation"  # where Keras 3.15 keeps it (saved configs)

    def __init__(
        self,
        teacher: Any,
        student: Any,
        distillation_losses: Any,
        distillation_loss_weights: list | None = None,
        student_loss_weight: float = 0.5,
        name: str = "distiller",
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        for role, model in (("Teacher", teacher), ("Student", student)):
            if not isinstance(model, Model):
                raise ValueError(
                    f"{role} must be a keras.Model (Sequential, functional or subclassed). "
                    f"Received: {model!r} of type {type(model).__name__}."
                )
        _check_pairs(teacher, student)
        self.teacher = teacher
        self.student = student
        if not isinstance(student_loss_weight, (int, float)) or isinstance(
            student_loss_weight, bool
        ):
            raise ValueError(
                "student_loss_weight must be a number between 0.0 and 1.0. Received: "
                f"student_loss_weight={student_loss_weight!r} of type "
                f"{type(student_loss_weight).__name__}."
            )
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(
                "student_loss_weight must be between 0.0 and 1.0 (the share of the student's "
                f"own loss in the total). Received: student_loss_weight={student_loss_weight}."
            )
        self.student_loss_weight = student_loss_weight
        if distillation_losses is None:
            raise ValueError(
                "'distillation_losses' cannot be `None`. Provide a distillation loss (e.g. "
                "LogitsDistillation or FeatureDistillation) or a list of them."
            )
        if not isinstance(distillation_losses, (list, tuple)):
            distillation_losses, distillation_loss_weights = [distillation_losses], [1.0]
        elif distillation_loss_weights is None:
            distillation_loss_weights = [1.0] * len(distillation_losses)
        elif len(distillation_loss_weights) != len(distillation_losses):
            raise ValueError(
                f"Number of distillation_loss_weights ({len(distillation_loss_weights)}) must "
                f"match number of distillation_losses ({len(distillation_losses)}). Give one "
                "weight per loss, or None for 1.0 each."
            )
        self.distillation_losses = distillation_losses
        self.distillation_loss_weights = distillation_loss_weights
        for loss in distillation_losses:
            loss.validate_model_compatibility(teacher, student)
        self._teacher_feature_extractor = _feature_extractor(
            teacher, distillation_losses, "teacher"
        )
        self._student_feature_extractor = _feature_extractor(
            student, distillation_losses, "student"
        )
        teacher.trainable = False
        self.student_loss_tracker = metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = metrics.Mean(name="distillation_loss")
        self.total_loss_tracker = metrics.Mean(name="total_loss")

    # -- training --------------------------------------------------------------------------
    def _runs_custom(self, step: str) -> bool:
        # compute_loss below is the model's own: fit/evaluate run Keras's steps with it.
        return step != "predict_step" or super()._runs_custom(step)

    def compile(self, optimizer: Any = "adam", loss: Any = None, metrics: Any = None, **kwargs):
        """Configure training; ``loss`` is the student's supervised loss.

        Args:
            optimizer: the optimizer that trains the student. Defaults to ``"adam"``.
            loss: the student's loss on the labels: a name, a function, a ``Loss``, or a
                list/dict per output. Required.
            metrics: a list (or tuple) of metrics on the student's predictions.
            **kwargs: other ``Model.compile`` arguments.

        Raises:
            ValueError: when ``loss`` is None or ``metrics`` is not a list or tuple.
        """
        if loss is None:
            raise ValueError(
                "'loss' cannot be `None`: Distiller.compile needs the student's loss on the "
                "labels, e.g. loss='sparse_categorical_crossentropy'."
            )
        student_loss = tree.map_structure(_loss_function, loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(
                f"metrics must be a list or tuple, e.g. metrics=['accuracy']. Received: "
                f"metrics={metrics!r} of type {type(metrics).__name__}."
            )
        self.__dict__["_student_loss"] = student_loss
        self.__dict__["_student_loss_for_serialization"] = loss
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)

    def call(self, inputs: Any, training: bool | None = None, **kwargs: Any) -> Any:
        return self.student(inputs, training=training, **kwargs)

    def _features(self, which: str, x: Any, y_pred: Any, training: bool) -> dict:
        extractor = getattr(self, f"_{which}_feature_extractor")
        if extractor is not None:
            # Keras runs the student's in training mode even in evaluate (dropout and
            # batch statistics there): kerax follows the step's mode.
            return extractor(x, training=training and which == "student")
        if which == "teacher":
            return {"final_output": self.teacher(x, training=False)}
        return {"final_output": y_pred}

    def _pair(self, loss: Any, teacher: dict, student: dict, y_pred: Any) -> tuple:
        """The teacher and student outputs that ``loss`` compares."""
        if getattr(loss, "teacher_layer_name", None) is None:
            return teacher["final_output"], y_pred
        names = (loss.teacher_layer_name, getattr(loss, "student_layer_name", None))
        found = []
        for features, name in zip((teacher, student), names):
            key = name or "final_output"
            if key not in features:
                raise RuntimeError(
                    f"Failed to extract features for {type(loss).__name__} targeting teacher "
                    f"layer '{names[0]}' and student layer '{names[1]}': layer '{key}' is not "
                    f"among the extracted features {list(features)}."
                )
            found.append(features[key])
        return tuple(found)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """``w * student_loss + (1 - w) * distillation_loss`` for one batch (Keras 3.15's).

        ``sample_weight`` is not used, as in Keras. The three parts are tracked as the
        ``student_loss``, ``distillation_loss`` and ``total_loss`` metrics.

        Returns:
            The total loss, a scalar.

        Raises:
            ValueError: when a distillation loss returns a non-scalar.
        """
        if y_pred is None:
            y_pred = self(x, training=training)
        student_loss: Any = 0.0
        if self.student_loss_weight > 0.0 and y is not None:
            values = tree.map_structure(lambda fn, t, p: fn(t, p), self._student_loss, y, y_pred)
            # Each output's loss is averaged, then summed (Keras 3.15 sums several per-sample
            # losses over the batch, and fails before that on a list of losses).
            student_loss = sum(jnp.mean(value) for value in tree.flatten(values))
        distillation_loss: Any = 0.0
        if self.student_loss_weight < 1.0:
            teacher = self._features("teacher", x, y_pred, training)
            student = self._features("student", x, y_pred, training)
            for loss, weight in zip(self.distillation_losses, self.distillation_loss_weights):
                t, s = self._pair(loss, teacher, student, y_pred)
                loss.validate_outputs(t, s)
                value = loss.compute_loss(t, s)
                if jnp.ndim(value) > 0:
                    raise ValueError(
                        f"Distillation loss {type(loss).__name__} returned a non-scalar loss "
                        f"with shape {jnp.shape(value)}. Its compute_loss must return a scalar "
                        "(reduce it, e.g. with ops.mean)."
                    )
                distillation_loss = jnp.add(distillation_loss, jnp.multiply(weight, value))
        w = self.student_loss_weight
        total = jnp.add(jnp.multiply(w, student_loss), jnp.multiply(1.0 - w, distillation_loss))
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation_loss)
        self.total_loss_tracker.update_state(total)
        return total

    # -- saving ----------------------------------------------------------------------------
    def get_config(self) -> dict:
        from kerax.saving import serialize_keras_object

        return {
            **super().get_config(),
            "teacher": serialize_keras_object(self.teacher),
            "student": serialize_keras_object(self.student),
            "distillation_losses": [serialize_keras_object(d) for d in self.distillation_losses],
            "distillation_loss_weights": list(self.distillation_loss_weights),
            "student_loss_weight": self.student_loss_weight,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Distiller:
        from kerax.saving import deserialize_keras_object

        config = dict(config)
        for key in ("teacher", "student", "distillation_losses"):
            config[key] = deserialize_keras_object(config[key], custom_objects)
        return cls(**config)

    def get_compile_config(self) -> dict | None:
        """Keras's compile config, with the student's loss in ``loss`` (Keras 3.15 writes
        None there, and so cannot compile a loaded distiller)."""
        from kerax.saving import serialize_keras_object

        config = super().get_compile_config()
        if config:
            config["loss"] = serialize_keras_object(
                self.__dict__["_student_loss_for_serialization"]
            )
        return config

    def compile_from_config(self, config: dict) -> None:
        """Compile as ``get_compile_config()`` recorded; a config without the student's
        loss (a file Keras wrote) leaves the distiller uncompiled, with a warning, as
        Keras does."""
        if not isinstance(config, dict) or config.get("loss") is None:
            _warnings.warn(
                f"Distiller '{self.name}' was not compiled while loading: its compile config "
                "records no student loss (Keras 3.15 writes none). Call compile() after loading."
            )
            return
        super().compile_from_config(config)


def _feature_extractor(model: Any, losses: list, role: str) -> Any:
    """A functional model with ``model``'s final output and the outputs of the layers the
    losses name, keyed ``{"final_output": ..., layer_name: ...}``; None when none is named."""
    names: list[str] = []
    for loss in losses:
        name = getattr(loss, f"{role}_layer_name", None)
        if name and name not in names:
            names.append(name)
    if not names:
        return None
    inputs = _symbolic(model, "inputs")
    if inputs is None:
        raise ValueError(
            f"Cannot create a feature extractor for {role} model '{model.name}': it has no "
            "symbolic inputs. Build it with keras.Input (Functional or Sequential)."
        )
    outputs = {"final_output": model.output}
    outputs.update((name, model.get_layer(name=name).output) for name in names)
    return Model(inputs=inputs, outputs=outputs, name=f"{model.name}_multi_feature_extractor")
