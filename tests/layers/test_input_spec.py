"""InputSpec: the checks Keras 3 runs on a layer's inputs (rank, dtype, shape, axes,
count, dict keys), eagerly, under apply and in the functional API; config round trip."""

import numpy as np
import pytest

import kerax
from kerax.layers.input_spec import InputSpec, assert_input_compatibility


class Squares(kerax.layers.Layer):
    def __init__(self, spec=None, spec_in_build=None, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = spec
        self._later = spec_in_build

    def build(self, input_shape):
        if self._later is not None:
            self.input_spec = self._later

    def call(self, inputs):
        return inputs**2


def test_keras_names_and_repr():
    assert kerax.InputSpec is InputSpec and kerax.layers.InputSpec is InputSpec
    assert repr(InputSpec(shape=(None, 28, 28))) == "InputSpec(shape=(None, 28, 28), ndim=3)"
    spec = InputSpec(dtype="float32", min_ndim=2, axes={-1: 4})
    again = InputSpec.from_config(spec.get_config())
    assert (
        again.get_config()
        == spec.get_config()
        == {
            "dtype": "float32",
            "shape": None,
            "ndim": None,
            "max_ndim": None,
            "min_ndim": 2,
            "axes": {-1: 4},
            "optional": False,
        }
    )


@pytest.mark.parametrize(
    "spec, x, match",
    [
        (InputSpec(ndim=3), np.ones((2, 4)), "expected ndim=3, found ndim=2"),
        (InputSpec(min_ndim=3), np.ones((2, 4)), "expected min_ndim=3"),
        (InputSpec(max_ndim=1), np.ones((2, 4)), "expected max_ndim=1"),
        (InputSpec(dtype="int32"), np.ones((2, 4), "float32"), "expected dtype=int32"),
        (InputSpec(axes={-1: 5}), np.ones((2, 4)), "expected axis -1 to have size 5"),
        (InputSpec(shape=(None, 5)), np.ones((2, 4)), r"expected shape=\(None, 5\)"),
        ([InputSpec(), InputSpec()], np.ones((2, 4)), "expects 2 input"),
    ],
)
def test_mismatches_name_the_layer_and_the_shapes(spec, x, match):
    with pytest.raises(ValueError, match=match):
        Squares(spec, name="sq")(x)
    with pytest.raises(ValueError, match="layer 'sq'|Layer 'sq'"):
        Squares(spec, name="sq")(x)


def test_matching_inputs_pass_everywhere():
    spec = InputSpec(shape=(None, 4), dtype="float32", axes={1: 4})
    np.testing.assert_allclose(Squares(spec)(np.full((3, 4), 2.0, "float32")), 4.0)
    model = kerax.Sequential([kerax.Input((4,)), Squares(spec)])
    out, _ = model.apply(model.get_variables(), np.ones((2, 4), "float32"))
    assert out.shape == (2, 4)
    squeeze = InputSpec(shape=(None, 4, 1), allow_last_axis_squeeze=True)
    assert Squares(squeeze)(np.ones((2, 4), "float32")).shape == (2, 4)


def test_functional_api_checks_at_construction_and_build_may_set_the_spec():
    with pytest.raises(ValueError, match="expected ndim=3"):
        Squares(InputSpec(ndim=3))(kerax.Input((4,)))
    with pytest.raises(ValueError, match="expected axis -1 to have size 8"):
        Squares(spec_in_build=InputSpec(axes={-1: 8}))(np.ones((2, 4), "float32"))


def test_dict_inputs_by_name_and_optional_none():
    specs = [InputSpec(name="a", ndim=2), InputSpec(name="b", ndim=1, optional=True)]
    assert_input_compatibility(specs, {"b": np.ones(3), "a": np.ones((1, 2))}, "pair")
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        assert_input_compatibility(specs, {"a": np.ones((1, 2))}, "pair")
    assert_input_compatibility([InputSpec(), InputSpec(optional=True)], [np.ones(2), None], "p")


def test_bad_axes():
    with pytest.raises(TypeError, match="integer keys"):
        InputSpec(axes={"last": 3})
    with pytest.raises(ValueError, match="axis 3"):
        InputSpec(ndim=2, axes={3: 1})
