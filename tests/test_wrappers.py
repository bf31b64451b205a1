"""kerax.wrappers: Keras 3.15's scikit-learn wrappers, against Keras's own and
scikit-learn's estimator checks (the checks and expected failures of Keras's
keras/src/wrappers/sklearn_test.py)."""

import doctest
import importlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402

import kerax  # noqa: E402
from kerax.wrappers import (  # noqa: E402
    SKLearnClassifier,
    SKLearnRegressor,
    SKLearnTransformer,
    _sklearn,
)


# -- scikit-learn's estimator checks, as Keras runs them -------------------------------------
def dynamic_model(X, y, loss, out_activation_function="softmax", layers=(10,)):
    """Keras's test model: an MLP sized from X and y (one-output list, as Keras's test)."""
    inp = kerax.Input(shape=(X.shape[1],))
    hidden = inp
    for size in layers:
        hidden = kerax.layers.Dense(size, activation="relu")(hidden)
    n_outputs = y.shape[1] if len(y.shape) > 1 else 1
    out = [kerax.layers.Dense(n_outputs, activation=out_activation_function)(hidden)]
    model = kerax.Model(inp, out)
    model.compile(loss=loss, optimizer="rmsprop")
    return model


_CHECKED = [
    SKLearnClassifier(
        model=dynamic_model,
        model_kwargs={"loss": "categorical_crossentropy", "layers": [20, 20, 20]},
        fit_kwargs={"epochs": 5, "verbose": 0},
    ),
    SKLearnRegressor(model=dynamic_model, model_kwargs={"loss": "mse"}, fit_kwargs={"verbose": 0}),
    SKLearnTransformer(
        model=dynamic_model, model_kwargs={"loss": "mse"}, fit_kwargs={"verbose": 0}
    ),
]
# Keras's expected failures (sklearn_test.EXPECTED_FAILED_CHECKS); with scikit-learn 1.9
# some pass (they run as non-strict xfails).
_EXPECTED_FAILURES = {
    "SKLearnClassifier": {
        "check_classifiers_regression_target",
        "check_parameters_default_constructible",
        "check_classifiers_one_label_sample_weights",
        "check_classifiers_classes",
        "check_classifier_data_not_an_array",
        "check_supervised_y_2d",
        "check_fit_idempotent",
        "check_classifiers_train",
    },
    "SKLearnRegressor": {"check_parameters_default_constructible"},
    "SKLearnTransformer": {"check_parameters_default_constructible"},
}
# The checks that fit a model take 0.5-5 s each (134 s for all on 2 cores): the fast
# tier keeps three of them (check_estimators_pickle, check_fit_check_is_fitted,
# check_n_features_in_after_fitting) and those that fit nothing; KERAX_SLOW_TESTS=1 runs all.
_SLOW_CHECKS = {
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_classifiers_one_label_sample_weights",
    "check_classifiers_train",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_n_features_in",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_regressor_data_not_an_array",
    "check_regressors_int",
    "check_regressors_no_decision_function",
    "check_regressors_train",
    "check_supervised_y_2d",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
}


def _check_params():
    params = []
    for estimator in _CHECKED:
        name = type(estimator).__name__
        for est, check in estimator_checks_generator(estimator, legacy=True):
            check_name = getattr(check, "func", check).__name__
            readonly = "-readonly" if getattr(check, "keywords", {}).get("readonly_memmap") else ""
            marks = [pytest.mark.slow] if check_name in _SLOW_CHECKS or readonly else []
            if check_name in _EXPECTED_FAILURES[name]:
                marks = [pytest.mark.slow, pytest.mark.xfail(reason="as in Keras", strict=False)]
            params.append(
                pytest.param(est, check, id=f"{name}-{check_name}{readonly}", marks=marks)
            )
    return params


@pytest.mark.filterwarnings("ignore")  # the checks feed warning-raising data on purpose
@pytest.mark.parametrize(("estimator", "check"), _check_params())
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("activation", ["softmax", "linear"])
def test_decision_function_argmax_is_predict(activation):
    X, y = sklearn.datasets.make_classification(
        n_samples=10, n_features=10, n_informative=4, n_classes=2, random_state=42
    )
    kwargs = {"out_activation_function": activation, "loss": "binary_crossentropy"}
    est = SKLearnClassifier(dynamic_model, model_kwargs=kwargs, fit_kwargs={"verbose": 0})
    est.fit(X, y)
    assert est.decision_function(X[:1]).argmax(axis=-1) == est.predict(X[:1])


# -- the same numbers as Keras's wrappers, from the same weights -----------------------------
def fixed_mlp(X, y, lib, loss, activation=None, seed=0):
    """Sequential MLP of ``lib`` ("kerax" or "keras") with weights drawn from ``seed``."""
    k = importlib.import_module(lib)
    n_out = y.shape[1] if y.ndim > 1 else 1
    rng = np.random.default_rng(seed)
    shapes = [(X.shape[1], 5), (5,), (5, n_out), (n_out,)]
    model = k.Sequential(
        [
            k.Input((X.shape[1],)),
            k.layers.Dense(5, activation="tanh"),
            k.layers.Dense(n_out, activation=activation),
        ]
    )
    model.set_weights([rng.normal(scale=0.5, size=s).astype("float32") for s in shapes])
    model.compile(optimizer="sgd", loss=loss)
    return model


_FIT = {"epochs": 2, "batch_size": 8, "shuffle": False, "verbose": 0}


def _data(n=24):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 3))
    return X, rng.choice(np.array(["cat", "dog", "emu"]), size=n), X @ [1.0, -2.0, 0.5]


def _pair(cls, keras, **model_kwargs):
    def make(lib):
        keras_cls = getattr(keras.wrappers, cls.__name__)
        wrapper = cls if lib == "kerax" else keras_cls
        return wrapper(fixed_mlp, model_kwargs={"lib": lib, **model_kwargs}, fit_kwargs=_FIT)

    return make("kerax"), make("keras")


@pytest.mark.keras
def test_classifier_matches_keras(keras_oracle):
    X, labels, _ = _data()
    ours, theirs = _pair(
        SKLearnClassifier, keras_oracle, loss="categorical_crossentropy", activation="softmax"
    )
    ours.fit(X, labels), theirs.fit(X, labels)
    assert kerax.wrappers.__all__ == [n for n in dir(keras_oracle.wrappers) if n[0] != "_"]
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), rtol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.predict(X).dtype == theirs.predict(X).dtype
    assert ours.score(X, labels) == theirs.score(X, labels)
    assert ours.history_.history.keys() == theirs.history_.history.keys()


@pytest.mark.keras
def test_regressor_and_transformer_match_keras(keras_oracle):
    X, _, target = _data()
    ours, theirs = _pair(SKLearnRegressor, keras_oracle, loss="mse")
    ours.fit(X, target), theirs.fit(X, target)
    assert ours.predict(X).shape == theirs.predict(X).shape == (24,)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.score(X, target), theirs.score(X, target), rtol=1e-5)
    ours, theirs = _pair(SKLearnTransformer, keras_oracle, loss="mse")
    mine, keras_out = ours.fit_transform(X, target), theirs.fit_transform(X, target)
    assert mine.shape == keras_out.shape == (24, 1)
    np.testing.assert_allclose(mine, keras_out, rtol=1e-5, atol=1e-6)


@pytest.mark.keras
def test_compiled_model_is_cloned_and_compiled_as_keras(keras_oracle):
    X, _, target = _data()

    def model(k):  # constant initializers: the clones start from the same weights
        m = k.Sequential(
            [k.Input((3,)), k.layers.Dense(1, kernel_initializer=k.initializers.Constant(0.3))]
        )
        m.compile(optimizer=k.optimizers.SGD(0.05), loss="mse")
        return m

    given = model(kerax)
    ours = SKLearnTransformer(given, fit_kwargs=_FIT).fit(X, target)
    theirs = keras_oracle.wrappers.SKLearnTransformer(model(keras_oracle), fit_kwargs=_FIT)
    theirs.fit(X, target)
    assert ours.model_ is not given and ours.model_.layers[0] is not given.layers[0]
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-5, atol=1e-6)


@pytest.mark.keras
@pytest.mark.parametrize(
    ("cls", "model", "y", "error"),
    [
        ("SKLearnClassifier", "uncompiled", "labels", RuntimeError),
        ("SKLearnClassifier", "mlp", "target", ValueError),  # continuous target
        ("SKLearnClassifier", "mlp", "one_class", ValueError),
        ("SKLearnClassifier", "mlp", "multilabel", ValueError),
        ("SKLearnRegressor", 3, "target", TypeError),
    ],
)
def test_errors_as_keras(keras_oracle, cls, model, y, error):
    X, labels, target = _data()
    ys = {"labels": labels, "target": target, "one_class": np.zeros(24, int)}
    ys["multilabel"] = np.eye(3, dtype=int)[np.arange(24) % 3]

    def build(lib):
        k = importlib.import_module(lib)
        m = k.Sequential([k.Input((3,)), k.layers.Dense(3, activation="softmax")])
        if model == "mlp":
            m.compile(optimizer="sgd", loss="categorical_crossentropy")
        return m

    messages = []
    for lib, wrappers in (("kerax", kerax.wrappers), ("keras", keras_oracle.wrappers)):
        est = getattr(wrappers, cls)(build(lib) if isinstance(model, str) else model)
        with pytest.raises(error) as info:
            est.fit(X, ys[y], **_FIT)
        messages.append(str(info.value).split(".")[0])
    if error is not TypeError:
        assert messages[0] == messages[1]


# -- kerax's own behaviour ---------------------------------------------------------------
def test_sparse_loss_trains_on_integer_codes_as_one_hot_would():
    X, labels, _ = _data()
    kw = {"lib": "kerax", "activation": "softmax"}
    dense = SKLearnClassifier(fixed_mlp, model_kwargs={**kw, "loss": "categorical_crossentropy"})
    sparse = SKLearnClassifier(
        fixed_mlp, model_kwargs={**kw, "loss": "sparse_categorical_crossentropy"}
    )
    dense.fit(X, labels, **_FIT), sparse.fit(X, labels, **_FIT)
    np.testing.assert_allclose(sparse.decision_function(X), dense.decision_function(X), rtol=1e-5)


def test_params_clone_warm_start_and_pickle():
    X, _, target = _data()
    est = SKLearnRegressor(fixed_mlp, model_kwargs={"lib": "kerax", "loss": "mse"}, fit_kwargs=_FIT)
    assert set(est.get_params()) == {"model", "warm_start", "model_kwargs", "fit_kwargs"}
    twin = clone(est.set_params(warm_start=True))
    assert twin.get_params() == est.get_params() and twin is not est and est.epoch_ == 0
    est.fit(X, target, epochs=1)
    first, before = est.model_, est.predict(X)
    assert est.fit_kwargs == _FIT and est.epoch_ == 1  # fit's own kwargs are not kept
    est.fit(X, target)  # warm start: the same model trains on
    assert est.model_ is first and est.epoch_ == 2
    assert not np.allclose(est.predict(X), before)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    assert restored.history_.history == est.history_.history


def test_unfitted_and_routing_errors():
    est = SKLearnClassifier(fixed_mlp)
    with pytest.raises(NotFittedError):
        est.predict(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="enable_metadata_routing=True"):
        est.set_fit_request(sample_weight=True)
    with sklearn.config_context(enable_metadata_routing=True):
        assert est.set_fit_request(sample_weight=True) is est


def test_pipeline_grid_search_and_cross_val_score():
    X, labels, _ = _data(30)
    kw = {"lib": "kerax", "loss": "categorical_crossentropy", "activation": "softmax"}
    pipe = make_pipeline(StandardScaler(), SKLearnClassifier(fixed_mlp, model_kwargs=kw))
    pipe.set_params(sklearnclassifier__fit_kwargs=_FIT)
    scores = cross_val_score(pipe, X, labels, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    grid = {"sklearnclassifier__model_kwargs": [{**kw, "seed": 0}, {**kw, "seed": 1}]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, labels)
    assert search.best_params_["sklearnclassifier__model_kwargs"] in grid[next(iter(grid))]
    assert search.predict(X[:4]).shape == (4,) and set(search.classes_) == set(labels)


def test_sklearn_loads_lazily_and_is_required():
    code = (
        "import sys, kerax, kerax.wrappers\n"
        "assert 'sklearn' not in sys.modules\n"
        "sys.modules['sklearn'] = None\n"
        "from kerax.wrappers import SKLearnRegressor\n"
        "try:\n    SKLearnRegressor(None)\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "requires scikit-learn" in out.stdout and "pip install scikit-learn" in out.stdout


def test_docstring_examples_run():
    assert doctest.testmod(_sklearn, raise_on_error=True).failed == 0
