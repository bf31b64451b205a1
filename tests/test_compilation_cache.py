"""The opt-in persistent compilation cache: a second run compiles nothing new."""

import os
import subprocess
import sys

SCRIPT = """
import numpy as np, kerax as keras
x = np.ones((64, 4), "float32"); y = np.zeros((64, 1), "float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile("sgd", "mse")
model.fit(x, y, epochs=1, batch_size=16, verbose=0)
"""


def test_second_run_hits_the_cache(tmp_path):
    env = {**os.environ, "KERAX_COMPILATION_CACHE": str(tmp_path / "cache"), "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    subprocess.run([sys.executable, "-c", SCRIPT], env=env, check=True, timeout=300)
    first = set(os.listdir(tmp_path / "cache"))
    assert first  # programs were written
    subprocess.run([sys.executable, "-c", SCRIPT], env=env, check=True, timeout=300)
    assert set(os.listdir(tmp_path / "cache")) == first  # nothing new compiled
