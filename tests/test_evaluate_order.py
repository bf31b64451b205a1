"""``evaluate``'s list (no ``return_dict``) is in Keras's order: the loss, the per-output
losses in the order Keras builds their trackers, then the rest sorted."""

import numpy as np
import pytest

import kerax

X = np.ones((4, 2), "float32")
Y = {"zeta": np.full((4, 1), 3.0, "float32"), "alpha": np.full((4, 1), 100.0, "float32")}

CASES = {
    # outputs, loss, metrics
    "dict": ("dict", {"zeta": "mse", "alpha": "mae"}, {"zeta": ["mae"], "alpha": ["mse"]}),
    "dict_loss_reversed": ("dict", {"alpha": "mae", "zeta": "mse"}, None),
    "dict_one_loss": ("dict", "mse", None),
    "list": ("list", ["mse", "mae"], [["mae"], ["mse"]]),
    "list_dict_loss": ("list", {"alpha": "mae", "zeta": "mse"}, None),
    "single": ("single", "mse", ["mse", "mae"]),
}


def _listed_keys(lib, case):
    """The log names of ``evaluate``'s list, matched through ``return_dict``'s values."""
    outputs, loss, metrics = CASES[case]
    x = lib.Input((2,))
    zeta = lib.layers.Dense(1, name="zeta")(x)
    alpha = lib.layers.Dense(1, name="alpha")(x)
    if outputs == "dict":
        model, y = lib.Model(x, {"zeta": zeta, "alpha": alpha}), Y
    elif outputs == "list":
        model, y = lib.Model(x, [zeta, alpha]), [Y["zeta"], Y["alpha"]]
    else:
        model, y = lib.Model(x, alpha), Y["alpha"]
    model.compile(optimizer="sgd", loss=loss, metrics=metrics)
    logs = model.evaluate(X, y, verbose=0, return_dict=True)
    listed = model.evaluate(X, y, verbose=0)
    return [[k for k, v in logs.items() if v == value] for value in listed]


@pytest.mark.parametrize("case", sorted(CASES))
def test_evaluate_list_order_matches_keras(keras_oracle, case):
    assert _listed_keys(kerax, case) == _listed_keys(keras_oracle, case)


def test_dict_outputs_list_per_output_losses_in_loss_dict_order():
    keys = _listed_keys(kerax, "dict")
    assert keys == [["loss"], ["zeta_loss"], ["alpha_loss"], ["alpha_mse"], ["zeta_mae"]]
