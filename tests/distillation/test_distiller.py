"""``kerax.distillation`` against Keras 3.15's: the same teacher and student weights give
the same ``compute_loss`` values, training logs and weights; configs and files move
both ways; the same bad arguments raise."""

import json

import numpy as np
import pytest

import kerax

pytestmark = [
    pytest.mark.keras,
    # Keras's own feature extractors (inputs=[Input]) warn when called on one array
    pytest.mark.filterwarnings("ignore:.*structure of `inputs` doesn't match:UserWarning"),
]

rng = np.random.default_rng(0)
X = rng.normal(size=(12, 6)).astype("float32")
Y = rng.integers(0, 3, size=(12,)).astype("int32")


def _models(k):
    """A teacher and a student; their "mid" layers both have 4 units."""
    teacher = k.Sequential(
        [
            k.Input((6,)),
            k.layers.Dense(8, activation="relu", name="t_hidden"),
            k.layers.Dense(4, activation="relu", name="t_mid"),
            k.layers.Dense(3, name="t_out"),
        ],
        name="teacher",
    )
    student = k.Sequential(
        [
            k.Input((6,)),
            k.layers.Dense(5, activation="relu", name="s_hidden"),
            k.layers.Dense(4, activation="tanh", name="s_mid"),
            k.layers.Dense(3, name="s_out"),
        ],
        name="student",
    )
    return teacher, student


# name -> (distillation losses, distillation_loss_weights, student_loss_weight), per library
CASES = {
    "logits_default": lambda k: (k.distillation.LogitsDistillation(temperature=2.0), None, 0.5),
    "logits_kl_object": lambda k: (
        k.distillation.LogitsDistillation(3.0, k.losses.KLDivergence()),
        None,
        0.3,
    ),
    "logits_cce_only": lambda k: (
        [
            k.distillation.LogitsDistillation(
                4.0, k.losses.CategoricalCrossentropy(from_logits=True)
            )
        ],
        [2.0],
        0.0,
    ),
    "features": lambda k: (
        k.distillation.FeatureDistillation(
            "mse", teacher_layer_name="t_mid", student_layer_name="s_mid"
        ),
        None,
        0.5,
    ),
    "several_weighted": lambda k: (
        [
            k.distillation.LogitsDistillation(2.0, k.losses.KLDivergence()),
            k.distillation.FeatureDistillation("mse", "t_mid", "s_mid"),
            k.distillation.FeatureDistillation("cosine_similarity"),
        ],
        [1.0, 0.5, 0.25],
        0.4,
    ),
    "student_only": lambda k: (k.distillation.LogitsDistillation(), None, 1.0),
}


def _distiller(k, case, weights=None, compile_kwargs=None):
    teacher, student = _models(k)
    if weights is not None:
        teacher.set_weights(weights[0])
        student.set_weights(weights[1])
    losses, loss_weights, student_weight = CASES[case](k)
    distiller = k.distillation.Distiller(
        teacher,
        student,
        distillation_losses=losses,
        distillation_loss_weights=loss_weights,
        student_loss_weight=student_weight,
    )
    distiller.compile(
        **{
            "optimizer": k.optimizers.SGD(learning_rate=0.1),
            "loss": k.losses.SparseCategoricalCrossentropy(from_logits=True),
            **(compile_kwargs or {}),
        }
    )
    return distiller


def _pair(keras, case, **kwargs):
    """The same distiller in Keras and in kerax, from Keras's initial weights."""
    keras.utils.set_random_seed(0)
    theirs = _distiller(keras, case, **kwargs)
    weights = (theirs.teacher.get_weights(), theirs.student.get_weights())
    return theirs, _distiller(kerax, case, weights=weights, **kwargs)


def _trackers(distiller):
    return [
        float(m.result())
        for m in (
            distiller.student_loss_tracker,
            distiller.distillation_loss_tracker,
            distiller.total_loss_tracker,
        )
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_compute_loss_matches_keras(keras_oracle, case):
    theirs, ours = _pair(keras_oracle, case)
    expected = theirs.compute_loss(x=X, y=Y, y_pred=theirs(X))
    got = ours.compute_loss(x=X, y=Y, y_pred=ours(X))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_trackers(ours), _trackers(theirs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs(X), rtol=1e-5, atol=1e-6)


# Not "logits_default": Keras's default loss, kl_divergence on raw logits clipped to
# [1e-7, 1], has gradients up to 1e7 near the clip, and SGD then amplifies the last bit.
@pytest.mark.parametrize("case", ["logits_kl_object", "features", "several_weighted"])
def test_fit_evaluate_match_keras(keras_oracle, case):
    theirs, ours = _pair(keras_oracle, case, compile_kwargs={"metrics": ["accuracy"]})
    fit = dict(epochs=2, batch_size=4, shuffle=False, verbose=0)
    expected = theirs.fit(X, Y, **fit).history
    got = ours.fit(X, Y, **fit).history
    assert sorted(got) == sorted(expected)
    assert set(expected) >= {"loss", "student_loss", "distillation_loss", "total_loss"}
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
    for a, b in zip(ours.student.get_weights(), theirs.student.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for a, b in zip(ours.teacher.get_weights(), theirs.teacher.get_weights()):
        np.testing.assert_array_equal(a, b)  # frozen
    expected = theirs.evaluate(X, Y, batch_size=4, verbose=0, return_dict=True)
    got = ours.evaluate(X, Y, batch_size=4, verbose=0, return_dict=True)
    assert sorted(got) == sorted(expected)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


def _two_outputs(k, prefix):
    inputs = k.Input((6,))
    hidden = k.layers.Dense(4, activation="relu", name=f"{prefix}_mid")(inputs)
    heads = [k.layers.Dense(3, name=f"{prefix}_a")(hidden), k.layers.Dense(2, name=f"{prefix}_b")]
    return k.Model(inputs, [heads[0], heads[1](hidden)], name=prefix)


def test_two_output_models_match_keras(keras_oracle):
    """Per-output losses (None skips one) on two-output functional models. Keras 3.15
    cannot apply a list of student losses (its tracked list fails to map), so the
    comparison uses ``student_loss_weight=0``; kerax's own sum is checked by hand."""
    y = [Y, rng.normal(size=(12, 2)).astype("float32")]
    made = {}
    keras_oracle.utils.set_random_seed(0)
    for k in (keras_oracle, kerax):
        teacher, student = _two_outputs(k, "t"), _two_outputs(k, "s")
        if k is kerax:
            teacher.set_weights(made[keras_oracle].teacher.get_weights())
            student.set_weights(made[keras_oracle].student.get_weights())
        made[k] = k.distillation.Distiller(
            teacher,
            student,
            [
                k.distillation.LogitsDistillation(2.0, [k.losses.KLDivergence(), None]),
                k.distillation.FeatureDistillation(["mse", "mae"]),
                k.distillation.FeatureDistillation("mse", "t_mid", "s_mid"),
            ],
            [0.5, 2.0, 1.0],
            student_loss_weight=0.0,
        )
        made[k].compile(
            k.optimizers.SGD(learning_rate=0.1),
            loss=[k.losses.SparseCategoricalCrossentropy(from_logits=True), "mse"],
        )
    fit = dict(epochs=2, batch_size=4, shuffle=False, verbose=0)
    expected = made[keras_oracle].fit(X, y, **fit).history
    got = made[kerax].fit(X, y, **fit).history
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
    for a, b in zip(made[kerax].student.get_weights(), made[keras_oracle].student.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    ours = made[kerax]
    ours.student_loss_weight = 0.25
    ours.reset_metrics()
    pred = ours(X)
    total = ours.compute_loss(x=X, y=y, y_pred=pred)
    sce = kerax.losses.SparseCategoricalCrossentropy(from_logits=True)(y[0], pred[0])
    student = float(sce) + float(np.mean(kerax.losses.mean_squared_error(y[1], pred[1])))
    np.testing.assert_allclose(ours.student_loss_tracker.result(), student, rtol=1e-5)
    distilled = float(ours.distillation_loss_tracker.result())
    np.testing.assert_allclose(total, 0.25 * student + 0.75 * distilled, rtol=1e-5)


def test_student_alone_equals_training_it():
    """With ``student_loss_weight=1`` the distiller trains the student as compile/fit on
    the student alone does; afterwards ``distiller.student`` is that trained model."""
    distiller = _distiller(kerax, "student_only")
    teacher, student = _models(kerax)
    student.set_weights(distiller.student.get_weights())
    student.compile(
        kerax.optimizers.SGD(learning_rate=0.1),
        kerax.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    fit = dict(epochs=2, batch_size=4, shuffle=False, verbose=0)
    history = distiller.fit(X, Y, **fit).history
    alone = student.fit(X, Y, **fit).history
    np.testing.assert_allclose(history["student_loss"], alone["loss"], rtol=1e-5)
    for a, b in zip(distiller.student.get_weights(), student.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    trained = distiller.student
    assert isinstance(trained, kerax.Model) and trained.trainable
    np.testing.assert_allclose(
        trained.predict(X, verbose=0), student.predict(X, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert not distiller.teacher.trainable and not distiller.teacher.trainable_weights


def test_config_round_trip_and_keras_configs(keras_oracle):
    theirs, ours = _pair(keras_oracle, "several_weighted")
    config = ours.get_config()
    json.dumps(config)
    expected = theirs.get_config()
    for key in ("distillation_losses", "distillation_loss_weights", "student_loss_weight"):
        assert config[key] == expected[key], key
    assert {k: v for k, v in config.items() if k not in ("teacher", "student")} == {
        k: v for k, v in expected.items() if k not in ("teacher", "student")
    }
    rebuilt = kerax.distillation.Distiller.from_config(config)
    assert [type(d).__name__ for d in rebuilt.distillation_losses] == [
        "LogitsDistillation",
        "FeatureDistillation",
        "FeatureDistillation",
    ]
    assert rebuilt.distillation_loss_weights == [1.0, 0.5, 0.25]
    assert rebuilt.student_loss_weight == 0.4 and rebuilt(X).shape == (12, 3)
    assert rebuilt.distillation_losses[1].teacher_layer_name == "t_mid"
    # each library builds a distiller from the other's config
    assert keras_oracle.distillation.Distiller.from_config(config)(X).shape == (12, 3)
    assert kerax.distillation.Distiller.from_config(expected)(X).shape == (12, 3)


def test_save_load_resumes_and_moves_between_libraries(keras_oracle, tmp_path):
    theirs, ours = _pair(keras_oracle, "features", compile_kwargs={"metrics": ["accuracy"]})
    ours.fit(X, Y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    ours.save(tmp_path / "d.keras")
    saved = ours.predict(X, verbose=0)
    ours.student.save(tmp_path / "student.keras")  # the student alone, for use without it
    student = kerax.saving.load_model(tmp_path / "student.keras")
    np.testing.assert_allclose(student.predict(X, verbose=0), saved, rtol=1e-6)
    loaded = kerax.saving.load_model(tmp_path / "d.keras")
    assert isinstance(loaded, kerax.distillation.Distiller) and loaded.compiled
    assert not loaded.teacher.trainable and loaded.student_loss_weight == 0.5
    np.testing.assert_allclose(loaded.predict(X, verbose=0), saved)
    expected = ours.evaluate(X, Y, verbose=0, return_dict=True)
    assert loaded.evaluate(X, Y, verbose=0, return_dict=True) == pytest.approx(expected)
    fit = dict(epochs=1, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(
        loaded.fit(X, Y, **fit).history["loss"], ours.fit(X, Y, **fit).history["loss"], rtol=1e-6
    )
    # Keras reads kerax's file (it compiles no custom-compile model on loading) ...
    with pytest.warns(UserWarning):
        in_keras = keras_oracle.saving.load_model(tmp_path / "d.keras")
    np.testing.assert_allclose(in_keras(X), saved, rtol=1e-5, atol=1e-6)
    # ... and kerax reads Keras's, uncompiled with a warning as there (no student loss)
    theirs(X)
    theirs.save(tmp_path / "k.keras")
    with pytest.warns(UserWarning, match="not compiled"):
        from_keras = kerax.saving.load_model(tmp_path / "k.keras")
    assert not from_keras.compiled
    np.testing.assert_allclose(from_keras.predict(X, verbose=0), theirs(X), rtol=1e-5, atol=1e-6)
