"""``kerax.distribution`` against Keras 3's ``keras.distribution`` (API and semantics)."""

from types import SimpleNamespace

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

import kerax as keras
from kerax import distribution as D

pytestmark = [pytest.mark.multi_device, pytest.mark.usefixtures("eight_devices")]


def _mesh(lib=D):
    return lib.DeviceMesh((2, 4), ["batch", "model"])


def test_every_keras_name_exists(keras_oracle):
    names = {n for n in dir(keras_oracle.distribution) if not n.startswith("_")}
    assert names <= set(dir(D)), names - set(dir(D))
    assert set(D.__all__) >= names
    for cls in ("DataParallel", "ModelParallel", "LayoutMap", "DeviceMesh", "TensorLayout"):
        public = {n for n in dir(getattr(keras_oracle.distribution, cls)) if n[0] != "_"}
        missing = public - set(dir(getattr(D, cls))) - {"distribute_tf_dataset"}
        assert not missing, (cls, missing)


def test_layout_map_lookup_matches_keras(keras_oracle):
    results = []
    for lib in (keras_oracle.distribution, D):
        layout = lib.LayoutMap(_mesh(lib))
        layout["dense.*kernel"] = (None, "model")
        layout[".*bias"] = ("model",)
        layout["dense_1/kernel"] = ("model", None)  # an exact key wins over patterns
        paths = ["dense/kernel", "sequential/dense/kernel", "dense_1/kernel", "d/bias", "kernel"]
        results.append([layout[p] and layout[p].axes for p in paths])
        assert layout["dense/kernel"].device_mesh is layout.device_mesh
        with pytest.raises(ValueError, match="matches multiple|matches several"):
            layout["dense.*bias"] = (None,)
            layout["dense_2/bias"]  # two patterns match: Keras refuses
        with pytest.raises(ValueError, match="already"):
            layout[".*bias"] = ("model",)
        with pytest.raises(ValueError, match="TensorLayout"):
            layout["x"] = "model"
    assert (
        results[0]
        == results[1]
        == [
            (None, "model"),
            None,  # keys match whole paths (re.fullmatch), not part of one
            ("model", None),
            ("model",),
            None,
        ]
    )


def test_layout_map_is_a_mapping():
    layout = D.LayoutMap(_mesh())
    layout["a"] = D.TensorLayout((None, "model"))
    assert list(layout.keys()) == ["a"] and len(layout) == 1 and "a" in layout
    assert layout.get("zzz", "default") == "default"
    del layout["a"]
    assert len(layout) == 0
    with pytest.raises(ValueError, match="not a valid regular expression"):
        layout["["] = (None,)


def test_mesh_and_layout_like_keras(keras_oracle):
    k, mesh = keras_oracle.distribution, _mesh()
    assert mesh.devices.tolist() == k.DeviceMesh((2, 4), ["batch", "model"]).devices.tolist()
    assert mesh.backend_mesh.shape == {"batch": 2, "model": 4}
    assert repr(mesh) == "<DeviceMesh shape=(2, 4), axis_names=['batch', 'model']>"
    assert D.get_device_count() == k.get_device_count() == 8
    layout = D.TensorLayout((None, "model"), mesh)
    assert layout.backend_layout.spec == P(None, "model")
    with pytest.raises(ValueError, match="not axes of the mesh"):
        D.TensorLayout(("modle", None), mesh)
    with pytest.raises(ValueError, match="string axes='model'"):
        D.TensorLayout("model", mesh)
    with pytest.raises(ValueError, match="no device mesh"):
        D.TensorLayout((None,)).backend_layout  # noqa: B018
    with pytest.raises(ValueError, match="string axis_names='batch'"):
        D.DeviceMesh((8,), "batch")
    with pytest.raises(ValueError, match="devices must be distinct"):
        D.DeviceMesh((2,), ["batch"], devices=["cpu:0", "cpu:0"])


def test_distribution_methods_like_keras(keras_oracle):
    k = keras_oracle.distribution
    for lib in (k, D):
        mesh = _mesh(lib)
        layout = lib.LayoutMap(mesh)
        layout[".*kernel"] = (None, "model")
        dp, mp = lib.DataParallel(), lib.ModelParallel(layout_map=layout, batch_dim_name="batch")
        assert dp.get_data_layout((16, 6)).axes == ("batch", None)
        assert mp.get_data_layout((16, 6, 2)).axes == ("batch", None, None)
        assert (dp.num_model_replicas, mp.num_model_replicas, dp.data_shard_id) == (8, 2, 0)
        assert dp.num_processes == 1 and dp.batch_dim_name == "batch"
        variable = SimpleNamespace(path="seq/dense/kernel", shape=(6, 8))  # what is read
        assert dp.get_variable_layout(variable).axes == (None, None)
        assert mp.get_variable_layout(variable).axes == (None, "model")
        assert mp.get_tensor_layout("dense/output") is None
        assert dp.distribute_dataset("data") == "data"  # one process: unchanged
        assert lib.ModelParallel(device_mesh=mesh, layout_map=layout).device_mesh is mesh
        with dp.scope():
            assert lib.distribution() is dp
            with mp.scope():
                assert lib.distribution() is mp
            assert lib.distribution() is dp
        assert lib.distribution() is None
        with pytest.raises(ValueError, match="DeviceMesh"):
            lib.DataParallel(device_mesh=["cpu:0"])
        with pytest.raises(ValueError, match="LayoutMap"):
            lib.ModelParallel(layout_map={".*": (None,)})
    with pytest.warns(UserWarning, match="1-D mesh"):
        D.DataParallel(device_mesh=_mesh())
    with pytest.raises(ValueError, match="different mesh"):
        D.ModelParallel(layout_map=layout, device_mesh=D.DeviceMesh((8,), ["batch"]))


def test_distribute_tensor_eager_and_jitted():
    layout = D.TensorLayout(("batch", None), _mesh())
    x = D.distribute_tensor(np.ones((4, 3), "float32"), layout)
    assert x.sharding.spec == P("batch", None)
    assert D.distribute_tensor(x, layout) is x
    y = jax.jit(lambda a: D.distribute_tensor(a * 2, layout.backend_layout))(np.ones((4, 3)))
    assert y.sharding.is_equivalent_to(layout.backend_layout, 2)
    with pytest.raises(ValueError, match="TensorLayout"):
        D.distribute_tensor(x, ("batch", None))


def test_layout_map_check_messages():
    dist = D.ModelParallel(layout_map=D.LayoutMap(_mesh()))
    paths = ["dense/kernel", "dense/bias"]
    dist.layout_map["sequential/dense/kernel"] = (None, "model")
    with pytest.raises(ValueError, match="without the model's name.*'dense/kernel'"):
        dist.check_layout_map(paths)
    dist = D.ModelParallel(layout_map=D.LayoutMap(_mesh()))
    dist.layout_map["kernel"] = (None, "model")
    with pytest.raises(ValueError, match="whole variable path.*'.\\*kernel.\\*'"):
        dist.check_layout_map(paths)
    dist = D.ModelParallel(layout_map=D.LayoutMap(_mesh()))
    dist.layout_map["dense/output"] = (None, "model")  # Keras: a layer output's layout
    with pytest.warns(UserWarning, match="layer output"):
        dist.check_layout_map(paths)


def test_layout_keys_match_keras_variable_paths_too():
    layout = D.LayoutMap(_mesh())
    layout["sequential/dense/kernel"] = (None, "model")
    layout["dense/bias"] = ("model",)
    dist = D.ModelParallel(layout_map=layout)
    tree = {"dense": {"kernel": np.zeros((6, 8)), "bias": np.zeros(8)}}
    aliases = {"dense/kernel": "sequential/dense/kernel", "dense/bias": "sequential/dense/bias"}
    trainable, _, _, paths = dist.state_shardings(tree, {}, {}, aliases)
    assert trainable["dense"]["kernel"].spec == P(None, "model")
    assert trainable["dense"]["bias"].spec == P("model")
    dist.check_layout_map(paths)  # both keys match a variable
    layout["sequential/dense/b.*"] = ("model",)
    with pytest.raises(ValueError, match="several LayoutMap keys"):
        dist.state_shardings(tree, {}, {}, aliases)


def test_keras_doc_layout_under_scope_shards_like_keras():
    # Keras's ModelParallel docstring keys, used with `with distribution.scope():`;
    # Keras 3.15 lays these variables out the same way.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 6)).astype("float32"), rng.normal(size=(32, 4)).astype("float32")
    layout = D.LayoutMap(_mesh())
    layout[".*dense.*kernel"] = (None, "model")
    layout[".*dense.*bias"] = ("model",)
    with D.ModelParallel(layout_map=layout).scope():
        model = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(4)]
        )
        model.compile(keras.optimizers.SGD(0.05), "mse")
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert D.distribution() is None
    specs = [tuple(v.value.sharding.spec) for v in model.weights]
    assert specs == [(None, "model"), ("model",)] * 2


def test_fit_lays_out_variables_by_their_keras_paths():
    # Keras's full variable paths (what `print(v.path)` shows) select variables in fit
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 6)).astype("float32"), rng.normal(size=(16, 4)).astype("float32")
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, name="a"), keras.layers.Dense(4, name="b")],
        name="net",
    )
    assert model.weights[0].path == "net/a/kernel"
    layout = D.LayoutMap(_mesh())
    layout["net/a/kernel"] = (None, "model")
    layout["b/bias"] = ("model",)  # the pytree path still works
    D.set_distribution(D.ModelParallel(layout_map=layout))
    model.compile(keras.optimizers.SGD(0.05), "mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    specs = [tuple(v.value.sharding.spec) for v in model.weights]
    assert specs[0] == (None, "model") and specs[3] == ("model",)
    assert specs[1] in ((), (None,)) and specs[2] in ((), (None, None))
