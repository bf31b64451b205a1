"""Distillation losses: how a student's outputs are scored against a frozen teacher's.

A ``DistillationLoss`` turns ``(teacher_outputs, student_outputs)`` into one scalar;
``Distiller`` (``kerax.distillation.distiller``) weighs and sums them. The numbers are
Keras 3.15's: every loss is ``mean(loss_fn(teacher, student))``, the teacher in
``y_true``'s place. ``LogitsDistillation`` divides both logits by the temperature; only a
``KLDivergence`` *instance* gets softmax probabilities and the ``T**2`` factor of Hinton
et al., "Distilling the Knowledge in a Neural Network" (2015). The default string
``"kl_divergence"`` resolves to the plain function, as in Keras, and is applied to the
scaled logits as they are.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kerax import _serialization, losses, tree


def _loss_function(item: Any) -> Any:
    """A name resolved as ``compile`` resolves it; ``None`` and objects unchanged."""
    return losses.get(item) if isinstance(item, str) else item


def _resolve_losses(owner: str, loss: Any) -> Any:
    resolved = tree.map_structure(_loss_function, loss)
    if all(item is None for item in tree.flatten(resolved)):
        raise ValueError(
            f"{owner}: `loss` must hold at least one loss that is not None (None skips that "
            f"output). Received: loss={loss!r}. Pass a name such as 'mse', a loss object, "
            "or a list/dict of them with one entry per output."
        )
    return resolved


def _sum_of_means(fn: Any, loss: Any, teacher: Any, student: Any) -> Any:
    """``sum`` over the outputs of ``fn(loss_fn, teacher, student)`` (0 where None)."""
    values = tree.map_structure(
        lambda item, t, s: 0.0 if item is None else fn(item, t, s), loss, teacher, student
    )
    return jnp.sum(jnp.stack([jnp.asarray(v, jnp.float32) for v in tree.flatten(values)]))


def _structure(value: Any) -> Any:
    return tree.map_structure(lambda leaf: "*", value)


class DistillationLoss:
    """Base class of distillation losses: override ``compute_loss``.

    A subclass may also override ``validate_outputs`` (called on each batch's outputs
    before ``compute_loss``) and ``validate_model_compatibility`` (called once, when the
    ``Distiller`` is built), and should define ``get_config`` to be saved.
    """

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        """The distillation loss of one batch.

        Args:
            teacher_outputs: the teacher's outputs (an array, or a list/dict of them).
            student_outputs: the student's outputs, of the same structure.
            **kwargs: extra arguments of custom losses.

        Returns:
            A scalar.

        Raises:
            NotImplementedError: in the base class.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement compute_loss(teacher_outputs, "
            "student_outputs) returning a scalar."
        )

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        """Check that teacher and student outputs have the same structure.

        Raises:
            ValueError: when they do not.
        """
        tree.assert_same_structure(teacher_outputs, student_outputs)

    def validate_model_compatibility(self, teacher: Any, student: Any) -> None:
        """Check that this loss can be used with ``teacher`` and ``student`` (a no-op here).

        Raises:
            ValueError: in subclasses, when it cannot.
        """


class FeatureDistillation(DistillationLoss):
    """Match the student's features (intermediate or final outputs) to the teacher's.

    Args:
        loss: a loss name (``"mse"``, ``"cosine_similarity"``...), a loss object, or a
            list/dict of them matching the features' structure (``None`` skips an
            entry; at least one must be set). Defaults to ``"mse"``.
        teacher_layer_name: the teacher layer whose output is used; ``None`` for the
            teacher's final output.
        student_layer_name: the student layer whose output is used; ``None`` for the
            student's final output.

    Raises:
        ValueError: when every ``loss`` entry is ``None``, or for an unknown loss name.

    Example:
        >>> loss = FeatureDistillation("mse", teacher_layer_name="t1", student_layer_name="s1")
        >>> loss.get_config()["teacher_layer_name"]
        't1'
    """

    def __init__(
        self,
        loss: Any = "mse",
        teacher_layer_name: str | None = None,
        student_layer_name: str | None = None,
    ):
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = _resolve_losses("FeatureDistillation", loss)

    def validate_model_compatibility(self, teacher: Any, student: Any) -> None:
        """Check that the named layers exist, in models with a functional graph.

        Raises:
            ValueError: for a subclassed model when a layer is named, or a missing layer.
        """
        if self.teacher_layer_name is None and self.student_layer_name is None:
            return
        subclassed = [
            role
            for role, model in (("teacher", teacher), ("student", student))
            if getattr(model, "inputs", None) is None
        ]
        if subclassed:
            raise ValueError(
                "FeatureDistillation with layer names needs Functional or Sequential models "
                f"(built with keras.Input), whose intermediate outputs can be read; the "
                f"{' and '.join(subclassed)} model(s) have no symbolic inputs (subclassed, or "
                "a Sequential never built on an Input). Use such models, or FeatureDistillation "
                "without layer names (final outputs), or LogitsDistillation."
            )
        for role, model, name in (
            ("teacher", teacher, self.teacher_layer_name),
            ("student", student, self.student_layer_name),
        ):
            if name is not None:
                try:
                    model.get_layer(name=name)
                except ValueError as e:
                    raise ValueError(f"In {role} model: {e}") from None

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        """Check the features' structures against each other and against ``loss``.

        Raises:
            ValueError: when they differ.
        """
        super().validate_outputs(teacher_outputs, student_outputs)
        try:
            tree.assert_same_structure(self.loss, teacher_outputs)
        except ValueError as e:
            raise ValueError(
                f"FeatureDistillation: the structure of `loss`, {_structure(self.loss)}, does "
                f"not match that of the features, {_structure(teacher_outputs)}. Give one loss "
                f"per feature output (None to skip one). {e}"
            ) from None

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        """The sum over feature outputs of ``mean(loss(teacher, student))``.

        Returns:
            A scalar.
        """
        return _sum_of_means(
            lambda fn, t, s: jnp.mean(fn(t, s)), self.loss, teacher_outputs, student_outputs
        )

    def get_config(self) -> dict:
        from kerax.saving import serialize_keras_object

        return {
            "loss": serialize_keras_object(self.loss),
            "teacher_layer_name": self.teacher_layer_name,
            "student_layer_name": self.student_layer_name,
        }

    @classmethod
    def from_config(cls, config: dict) -> FeatureDistillation:
        from kerax.saving import deserialize_keras_object

        return cls(**{**config, "loss": deserialize_keras_object(config.get("loss", "mse"))})


class LogitsDistillation(DistillationLoss):
    """Match the student's temperature-scaled logits to the teacher's.

    Args:
        temperature: both models' logits are divided by it (softer targets when larger;
            3 to 5 is usual). Defaults to 3.0.
        loss: a loss name, a loss object, or a list/dict of them per output (``None``
            skips an output). A ``keras.losses.KLDivergence()`` instance compares the
            softmax probabilities and is multiplied by ``temperature**2``; any other loss
            (the default name ``"kl_divergence"`` too, as in Keras) gets the scaled logits.
            Defaults to ``"kl_divergence"``.

    Raises:
        ValueError: for a temperature that is not a positive number, when every ``loss``
            entry is ``None``, or for an unknown loss name.

    Example:
        >>> LogitsDistillation(temperature=4.0).get_config()["temperature"]
        4.0
    """

    def __init__(self, temperature: float = 3.0, loss: Any = "kl_divergence"):
        self.temperature = temperature
        self.loss = _resolve_losses("LogitsDistillation", loss)
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool):
            raise ValueError(
                "LogitsDistillation: `temperature` must be a positive number, e.g. 3.0. "
                f"Received: temperature={temperature!r} of type {type(temperature).__name__}."
            )
        if temperature <= 0.0:
            raise ValueError(
                "LogitsDistillation: `temperature` must be positive (logits are divided by "
                f"it), e.g. 3.0. Received: temperature={temperature!r}."
            )

    def _one_output(self, fn: Any, teacher: Any, student: Any) -> Any:
        if isinstance(fn, losses.KLDivergence):
            teacher, student = _softmax(teacher), _softmax(student)
            return jnp.mean(fn(teacher, student)) * (self.temperature**2)
        return jnp.mean(fn(teacher, student))

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> Any:
        """The sum over outputs of the loss of the temperature-scaled logits.

        Returns:
            A scalar.
        """
        scale = lambda logits: jnp.divide(logits, self.temperature)
        return _sum_of_means(
            self._one_output,
            self.loss,
            tree.map_structure(scale, teacher_outputs),
            tree.map_structure(scale, student_outputs),
        )

    def get_config(self) -> dict:
        from kerax.saving import serialize_keras_object

        return {"temperature": self.temperature, "loss": serialize_keras_object(self.loss)}

    @classmethod
    def from_config(cls, config: dict) -> LogitsDistillation:
        from kerax.saving import deserialize_keras_object

        loss = deserialize_keras_object(config.get("loss", "kl_divergence"))
        return cls(**{**config, "loss": loss})


def _softmax(logits: Any) -> Any:
    from kerax import ops

    return ops.softmax(logits, axis=-1)


#: The built-in distillation losses by name (``keras.distillation`` in Keras's configs).
ALL_OBJECTS = {c.__name__: c for c in (DistillationLoss, FeatureDistillation, LogitsDistillation)}


def serialize(loss: DistillationLoss) -> dict:
    """The Keras 3 config dict of a distillation loss (``module: "keras.distillation"``
    for the built-in ones, as Keras writes them; a custom one under its own module).

    Raises:
        TypeError: for a custom loss without ``get_config``.
    """
    return _serialization.serialize_keras_object(loss, "keras.distillation", ALL_OBJECTS)


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """A distillation loss (or a ``Distiller``) from its Keras 3 config dict.

    Raises:
        ValueError: for an unknown class (with how to register it).
    """
    if isinstance(config, dict) and config.get("class_name") == "Distiller":
        from kerax.saving.model_config import deserialize_layer

        return deserialize_layer(config, custom_objects)
    return _serialization.deserialize_keras_object(
        config, ALL_OBJECTS, custom_objects, kind="distillation loss"
    )
