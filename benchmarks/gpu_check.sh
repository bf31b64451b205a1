#!/usr/bin/env bash
# The GPU check: kerax's GPU tests, then its speed benchmarks on the GPU, in one run.
#
#   bash benchmarks/gpu_check.sh [OUTPUT_DIR]
#
# Runs kerax from this checkout (PYTHONPATH) with whatever JAX (with GPU support),
# optax, flax, numpy, h5py, pytest and scikit-learn the machine has; Keras 3 (for its
# fit's figures) is optional.
# Each step has a time limit and a log in OUTPUT_DIR (default ./gpu_check_out); a step
# that fails or runs out of time does not stop the ones after it. The most telling
# steps come first.
set -u
out=${1:-${OUT:-gpu_check_out}}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 JAX_PLATFORMS=cuda,cpu
py=${PYTHON:-python3}

step() {  # step NAME SECONDS COMMAND...
    local name=$1 limit=$2
    shift 2
    echo "== $name: $*"
    local start=$SECONDS
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    local code=$?
    tail -n 40 "$out/$name.log"
    echo "== $name: exit $code after $((SECONDS - start)) s"
}

nvidia-smi -L 2>&1 || true
step env 60 "$py" -c "import jax, optax, numpy, kerax; print('jax', jax.__version__, 'optax', optax.__version__, 'numpy', numpy.__version__, jax.devices())"
# Tests compare with float32 references: no TF32 in them.
export JAX_DEFAULT_MATMUL_PRECISION=highest XLA_PYTHON_CLIENT_PREALLOCATE=false
step gpu_tests 90 "$py" -m pytest -q -p no:cacheprovider tests/test_gpu.py
unset JAX_DEFAULT_MATMUL_PRECISION XLA_PYTHON_CLIENT_PREALLOCATE
step fit_speed 240 "$py" benchmarks/fit_speed.py --workloads mlp convnet large_mlp \
    --impls kerax jax_step jax_scan keras kerax_cached --rounds 1 --epochs 3
step conv_lowering 45 "$py" benchmarks/conv_lowering.py --rounds 10 --steps 20 \
    --configs xla auto auto_sliced_pool kerax_layers
step predict_speed 45 "$py" benchmarks/predict_speed.py --rounds 10
step population_speed 90 "$py" benchmarks/population_speed.py --members 16 --samples 20000 \
    --epochs 3 --rounds 1
export JAX_DEFAULT_MATMUL_PRECISION=highest XLA_PYTHON_CLIENT_PREALLOCATE=false
step engine_tests 120 "$py" -m pytest -q -p no:cacheprovider -n 4 tests/layers/test_attention.py \
    tests/layers/test_convolution.py tests/layers/test_pooling.py tests/test_trainer.py \
    tests/test_population.py tests/test_privacy.py tests/test_mixed_precision_fit.py \
    tests/test_optimizer_in_fit.py tests/test_models.py tests/test_predict_windows.py
