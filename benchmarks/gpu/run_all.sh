#!/usr/bin/env bash
# Issue 23: every row of RESULTS.md's GPU table in one run, each against its own forward floor measured in
# the same run: PyTorch ResNet50 and MobileNetV2, Keras 3 on JAX (MobileNetV2 and the demo model), the
# paper's method in chains against its prototype pattern, the JAX block sizes; plus the same-map check.
#
#   bash benchmarks/gpu/run_all.sh           # on the GPU machine, from the repository root; results in $OUT
#   bash benchmarks/gpu/run_all.sh --quick   # rehearsal on a CPU: the same code path at small sizes
#   bash benchmarks/gpu/run_all.sh --only keras --blocks ""   # a second, shorter run (arguments of bench_gpu.py)
#
# Writes into $OUT (default /tmp/bench_gpu_out), at most 7 files: env.json (device, versions, code stamp),
# bench_gpu.json (every row, saved after each one), bench_gpu.keras-jax.json (the Keras child's rows, also
# saved row by row), bench_gpu.md (the table), bench_gpu.log. Publish with
#   python benchmarks/gpu/publish.py OUT_FOLDER
# Missing packages (Keras 3 and what it needs beyond the machine's image) come as wheels in .whl/
# (see benchmarks/gpu/README.md); they are installed into /tmp/site only when `import keras` fails.
# Time: the benchmark sections stop starting after SW_BUDGET_S seconds (default 360); the whole
# benchmark is killed at SW_BUDGET_S + 90 s, so this script ends within about SW_BUDGET_S + 120 s.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/bench_gpu_out}"
mkdir -p "$OUT"
PY="${PY:-python3}"
QUICK=()
if [ "${1:-}" = "--quick" ]; then
    QUICK=(--quick --repeats 2 --blocks 1,2,4)
    shift
fi
# Further arguments go to bench_gpu.py (a shorter second run: --only keras, --only torch, --blocks "").
BUDGET="${SW_BUDGET_S:-360}"
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2 MPLBACKEND=Agg
# Several frameworks share the GPU (the torch process, then the Keras-on-JAX child): no preallocation.
export XLA_PYTHON_CLIENT_PREALLOCATE=false XLA_PYTHON_CLIENT_MEM_FRACTION=0.45 TF_FORCE_GPU_ALLOW_GROWTH=true
T0=$(date +%s)

if ! "$PY" -c "import keras, namex, optree, array_api_compat" 2>/dev/null; then
    if ls .whl/*.whl >/dev/null 2>&1; then
        echo "== installing $(ls .whl | tr '\n' ' ')into /tmp/site"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
            .whl/*.whl || echo "!! wheel install failed: the Keras rows will be missing"
        export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
    else
        echo "!! keras is not importable and no .whl/ folder came with the tree: the Keras rows will be missing"
    fi
fi
# The package from this tree (children inherit PYTHONPATH), not an installed copy.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

# What runs where: every import the benchmark needs, checked before any timing (a clear line, not a
# traceback 5 minutes in), written with the device and the code stamp to env.json.
KERAS_BACKEND=jax "$PY" - "$OUT/env.json" <<'PY'
import importlib, json, os, platform, subprocess, sys, time
sys.path.insert(0, "benchmarks")
from bench_gpu import code_stamp
env = dict(python=sys.version.split()[0], executable=sys.executable, host=platform.node(),
           date_utc=time.strftime("%Y-%m-%d %H:%M", time.gmtime()), code_stamp=code_stamp(),
           git_commit=os.environ.get("SW_GIT_COMMIT", ""), pythonpath=os.environ.get("PYTHONPATH", ""))
try:
    env["nvidia_smi"] = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
        capture_output=True, text=True, timeout=30).stdout.strip()
except Exception as exc:
    env["nvidia_smi"] = f"unavailable: {type(exc).__name__}"
for mod in ("numpy", "scipy", "skimage", "PIL", "matplotlib", "tqdm", "threadpoolctl", "torch", "torchvision",
            "jax", "jaxlib", "keras", "namex", "optree", "array_api_compat", "saliency_widgets"):
    try:
        m = importlib.import_module(mod)
        env[mod] = getattr(m, "__version__", "?")
    except Exception as exc:
        env[mod] = f"IMPORT FAILED: {type(exc).__name__}: {exc}"
        print(f"!! import {mod}: {type(exc).__name__}: {exc}", flush=True)
try:
    import torch
    env["torch_cuda"] = torch.cuda.is_available()
    env["device"] = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
except Exception:
    pass
try:
    import jax
    env["jax_devices"] = [str(d) for d in jax.devices()]
except Exception as exc:
    env["jax_devices"] = f"{type(exc).__name__}: {exc}"
json.dump(env, open(sys.argv[1], "w"), indent=1)
print("== env:", json.dumps(env), flush=True)
PY

timeout -k 15 $((BUDGET + 90)) "$PY" benchmarks/bench_gpu.py ${QUICK[@]+"${QUICK[@]}"} --budget-s "$BUDGET" \
    --keras-backends jax --json "$OUT/bench_gpu.json" --out "$OUT/bench_gpu.md" "$@" 2>&1 | tee "$OUT/bench_gpu.log"
rc=$?
rm -f "$OUT"/*.tmp
echo "== run_all: bench_gpu exit $rc after $(( $(date +%s) - T0 )) s; files: $(ls "$OUT" | tr '\n' ' ')"
exit "$rc"
