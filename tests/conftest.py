"""A strict test environment: fake CPU devices, Keras on JAX as an optional oracle.

Both variables must be set before jax or keras is imported anywhere.
"""

import os

os.environ.setdefault("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += " --xla_force_host_platform_device_count=8"
# The suite compiles thousands of small programs, and XLA's older CPU fusion emitters
# compile them about 20% faster (what users run keeps XLA's defaults; the programs and
# their numbers do not depend on it). KERAX_TEST_XLA_DEFAULTS=1 runs the suite under
# XLA's own defaults.
_defaults = os.environ.get("KERAX_TEST_XLA_DEFAULTS") == "1"
if not _defaults and "fusion_emitters" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += " --xla_cpu_use_fusion_emitters=false"
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    """A seeded NumPy generator, fresh for each test."""
    return np.random.default_rng(0)


@pytest.fixture
def keras_oracle():
    """Real Keras 3 on the JAX backend, or skip when it is not installed."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("the Keras oracle needs KERAS_BACKEND=jax")
    return keras


_RUN_SLOW = os.environ.get("KERAX_SLOW_TESTS") == "1"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (each tens of seconds on 2 cores: building large Keras 3
    reference models) run only with KERAX_SLOW_TESTS=1, so the default suite stays
    within CI's time."""
    if _RUN_SLOW:
        return
    skip = pytest.mark.skip(reason="slow: set KERAX_SLOW_TESTS=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
