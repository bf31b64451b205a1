"""The distillation losses and the Distiller's argument checks: the same bad arguments
raise ``ValueError`` in kerax as in Keras 3.15; the losses' numbers and configs."""

import jax.numpy as jnp
import numpy as np
import pytest

import kerax

T = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "float32")
S = np.array([[2.0, 1.0, 4.0], [3.0, 6.0, 2.0]], "float32")


def _model(k, shape=(4,), units=3, dtype="float32", name=None):
    return k.Sequential(
        [k.Input(shape, dtype=dtype), k.layers.Dense(units, name=f"{name}_dense")], name=name
    )


def _subclassed(k):
    class Sub(k.Model):
        def __init__(self):
            super().__init__()
            self.dense = k.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    model = Sub()
    model(np.ones((2, 4), "float32"))
    return model


def _distiller(k, teacher=None, student=None, **kwargs):
    kwargs.setdefault("distillation_losses", k.distillation.LogitsDistillation())
    return k.distillation.Distiller(
        teacher if teacher is not None else _model(k, name="t"),
        student if student is not None else _model(k, name="s"),
        **kwargs,
    )


BAD = {
    "teacher_not_a_model": lambda k: _distiller(k, teacher="not_a_model"),
    "student_not_a_model": lambda k: _distiller(k, student=object()),
    "input_shapes": lambda k: _distiller(k, student=_model(k, shape=(5,))),
    "input_ranks": lambda k: _distiller(k, student=_model(k, shape=(4, 4))),
    "output_shapes": lambda k: _distiller(k, student=_model(k, units=4)),
    "input_dtypes": lambda k: _distiller(k, student=_model(k, dtype="float16")),
    "student_weight_range": lambda k: _distiller(k, student_loss_weight=1.5),
    "student_weight_type": lambda k: _distiller(k, student_loss_weight="0.5"),
    "losses_none": lambda k: _distiller(k, distillation_losses=None),
    "weights_length": lambda k: _distiller(
        k,
        distillation_losses=[k.distillation.LogitsDistillation()] * 2,
        distillation_loss_weights=[1.0],
    ),
    "layer_names_on_subclassed": lambda k: _distiller(
        k,
        teacher=_subclassed(k),
        distillation_losses=k.distillation.FeatureDistillation(teacher_layer_name="dense"),
    ),
    "missing_teacher_layer": lambda k: _distiller(
        k, distillation_losses=k.distillation.FeatureDistillation(teacher_layer_name="nope")
    ),
    "missing_student_layer": lambda k: _distiller(
        k, distillation_losses=k.distillation.FeatureDistillation(student_layer_name="nope")
    ),
    "temperature_zero": lambda k: k.distillation.LogitsDistillation(temperature=0.0),
    "temperature_type": lambda k: k.distillation.LogitsDistillation(temperature="3"),
    "logits_all_none": lambda k: k.distillation.LogitsDistillation(loss=[None, None]),
    "features_all_none": lambda k: k.distillation.FeatureDistillation(loss=None),
    "unknown_loss_name": lambda k: k.distillation.FeatureDistillation(loss="nope"),
    "compile_without_loss": lambda k: _distiller(k).compile(optimizer="sgd"),
    "compile_metrics_not_list": lambda k: _distiller(k).compile(loss="mse", metrics="mae"),
    "outputs_structure": lambda k: k.distillation.LogitsDistillation().validate_outputs(
        T, {"output": S}
    ),
    "features_structure": lambda k: k.distillation.FeatureDistillation().validate_outputs(
        T, [S, S]
    ),
}


@pytest.mark.keras
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_arguments_raise_value_error_as_in_keras(keras_oracle, case):
    with pytest.raises(ValueError):
        BAD[case](keras_oracle)
    with pytest.raises(ValueError) as error:
        BAD[case](kerax)
    assert len(str(error.value)) > 30  # says what is wrong


def test_error_messages_name_the_problem():
    with pytest.raises(ValueError, match="In teacher model: No layer named 'nope'"):
        BAD["missing_teacher_layer"](kerax)
    with pytest.raises(ValueError, match="subclassed"):
        BAD["layer_names_on_subclassed"](kerax)
    with pytest.raises(ValueError, match=r"Teacher: \(None, 3\), Student: \(None, 4\)"):
        BAD["output_shapes"](kerax)
    with pytest.raises(ValueError, match="temperature='3'"):
        BAD["temperature_type"](kerax)


def test_feature_loss_structure_mismatch_is_a_value_error():
    # Keras 3.15 means to raise ValueError here but fails on an AttributeError of its own.
    loss = kerax.distillation.FeatureDistillation(loss=["mse"])
    with pytest.raises(ValueError, match="structure of `loss`"):
        loss.validate_outputs(T, S)


def test_non_scalar_custom_loss_is_refused():
    class PerSample(kerax.distillation.DistillationLoss):
        def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
            return jnp.sum(teacher_outputs - student_outputs, axis=-1)

    distiller = _distiller(kerax, distillation_losses=PerSample())
    distiller.compile(loss="mse")
    with pytest.raises(ValueError, match=r"non-scalar loss with shape \(2,\)"):
        distiller.compute_loss(x=np.ones((2, 4), "float32"), y=np.ones((2, 3), "float32"))
    with pytest.raises(NotImplementedError):
        kerax.distillation.DistillationLoss().compute_loss(T, S)


@pytest.mark.keras
def test_loss_values_and_configs_match_keras(keras_oracle):
    for k_loss, ours in (
        (keras_oracle.distillation.LogitsDistillation(), kerax.distillation.LogitsDistillation()),
        (
            keras_oracle.distillation.LogitsDistillation(2.0, keras_oracle.losses.KLDivergence()),
            kerax.distillation.LogitsDistillation(2.0, kerax.losses.KLDivergence()),
        ),
        (
            keras_oracle.distillation.FeatureDistillation(["mse", None], "a", "b"),
            kerax.distillation.FeatureDistillation(["mse", None], "a", "b"),
        ),
    ):
        pair = [T, S] if isinstance(ours.loss, list) else T
        other = [S, T] if isinstance(ours.loss, list) else S
        np.testing.assert_allclose(
            ours.compute_loss(pair, other), k_loss.compute_loss(pair, other), rtol=1e-6
        )
        assert ours.get_config() == k_loss.get_config()
        again = type(ours).from_config(k_loss.get_config())
        np.testing.assert_allclose(again.compute_loss(pair, other), ours.compute_loss(pair, other))


@pytest.mark.keras
def test_public_names_are_keras(keras_oracle):
    names = {n for n in dir(keras_oracle.distillation) if not n.startswith("_")}
    assert names == set(kerax.distillation.__all__)
    assert all(hasattr(kerax.distillation, n) for n in names)
    assert "distillation" in kerax.__all__
