#!/usr/bin/env bash
# The GPU benchmark (issue 21): FSMNet's paper configuration (C 64, n 2, batch 4, 240x240, the
# released loss, AdamW, clipping; or IGKR-Net's with MODEL=igkr, below) trained for a few
# hundred steps on CUDA with the kit, and the official PyTorch model's same step beside it when
# its source is at hand. Reports steps per second, peak GPU memory and the TFLOP/s achieved;
# writes OUT/summary.md. Builds nothing on the GPU machine and fits in 10 minutes (every command
# under `timeout`).
#
# Here, on the build machine (no GPU needed; about 40 minutes from an empty target folder):
#   CARGO_TARGET_DIR=target/cuda CUDARC_CUDA_VERSION=12080 \
#     cargo build --locked -p mcmr-kernel --bin mcmr --features mcmr-kernel/cuda
#   mkdir -p target/gpu && strip -o target/gpu/mcmr target/cuda/debug/mcmr && gzip -f target/gpu/mcmr
#   # optional, for the PyTorch side: a checkout of qic999/FSMNet (b36e160) in target/gpu/FSMNet
# On the GPU machine, from the repository root (carry target/gpu):
#   bash bench/gpu.sh [target/gpu/mcmr.gz] [OUT]        # STEPS=200 by default
#   MODEL=igkr STEPS=100 bash bench/gpu.sh target/gpu/mcmr.gz OUT-igkr
# MODEL=igkr times IGKR-Net's paper configuration instead (issue 20: d 256, 4 + 4 layers, 128x128,
# `cc359_1d_20`, attention in chunks of 1,024 queries, the four-stage run's last stage), the kit
# only (no official code exists); on this 2-core CPU one such step takes minutes and peaks at
# 6.9 GB of host memory (reference_results/README.md).
# A dry run of the script on a CPU machine (with a stand-in nvidia-smi on PATH):
#   DEVICE=cpu SCALE=smoke STEPS=5 bash bench/gpu.sh target/debug/mcmr
# NVRTC comes from a CUDA toolkit or from the nvidia-cuda-nvrtc wheel that torch installs.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-target/gpu/mcmr.gz}"
out="${2:-${OUT:-bench-gpu-out}}"
steps="${STEPS:-200}"
device="${DEVICE:-cuda}"
scale="${SCALE:-paper}"
model="${MODEL:-fsmnet}"
case "$model" in
  fsmnet) spec=papers/fsmnet.mcmr experiment=brats_x4 title="FSMNet \`brats_x4\`" loss="the released loss, AdamW and clipping" ;;
  igkr) spec=papers/igkr.mcmr experiment=cc359_1d_20 title="IGKR-Net \`cc359_1d_20\`" loss="the last stage's loss (all eight terms), Adam" ;;
  *) echo "error: MODEL must be fsmnet or igkr, not \`$model\`" >&2; exit 1 ;;
esac
mkdir -p "$out"
if [[ "$bin" == *.gz ]]; then
  gunzip -c "$bin" >"$out/mcmr"
  chmod +x "$out/mcmr"
  bin="$out/mcmr"
fi
if ! command -v nvidia-smi >/dev/null; then
  echo "error: no nvidia-smi: this script needs an NVIDIA GPU and its driver" >&2
  exit 1
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
if ! ldconfig -p 2>/dev/null | grep -q libnvrtc; then
  lib="$(python3 -c 'import nvidia.cuda_nvrtc as m, os; print(os.path.join(os.path.dirname(m.__file__), "lib"))' 2>/dev/null || true)"
  if [ -n "$lib" ] && [ -d "$lib" ]; then
    export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"
    echo "NVRTC from $lib"
  else
    echo "warning: no NVRTC found (no CUDA toolkit in ldconfig, no nvidia-cuda-nvrtc wheel): the kit's kernels cannot compile" >&2
  fi
fi

# GPU memory in use, sampled every 200 ms while each side runs.
sample() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$1" 2>/dev/null & echo $!; }
peak() { sort -n "$1" | tail -n 1; }
idle_mib="$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -n 1)"

echo "== the kit: mcmr bench-train $spec --experiment $experiment --scale $scale --device $device --steps $steps"
sampler="$(sample "$out/kit-memory.csv")"
kit_status=0
timeout 360 "$bin" bench-train "$spec" --experiment "$experiment" --scale "$scale" --device "$device" \
  --steps "$steps" --out "$out/kit-run" --json >"$out/kit.json" 2>"$out/kit.err" || kit_status=$?
kill "$sampler" 2>/dev/null || true
cat "$out/kit.json"
[ "$kit_status" -eq 0 ] || { echo "the kit's run failed (exit $kit_status):" >&2; tail -n 20 "$out/kit.err" >&2; }

torch_status=skipped
src="${FSMNET_SRC:-target/gpu/FSMNet}"
if [ "$model" = fsmnet ] && [ "$scale" = paper ] && [ -d "$src/networks" ] \
  && python3 -c 'import torch, einops; assert torch.cuda.is_available()' 2>/dev/null; then
  echo "== PyTorch: the official FSMNet from $src"
  sampler="$(sample "$out/torch-memory.csv")"
  torch_status=0
  (cd tools/bench && FSMNET_SRC="$(cd "../../$src" 2>/dev/null && pwd || echo "$src")" \
    timeout 200 python3 fsmnet_gpu_step.py --steps "$steps") >"$out/torch.json" 2>"$out/torch.err" || torch_status=$?
  kill "$sampler" 2>/dev/null || true
  cat "$out/torch.json"
else
  echo "== PyTorch side skipped (MODEL=$model; no FSMNet source in $src, or no torch with CUDA and einops)"
fi

python3 - "$out" "$idle_mib" "$kit_status" "$torch_status" "$title" "$loss" <<'PY'
import json, os, sys
out, idle, kit_status, torch_status, title, loss = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
def peak(name):
    try:
        with open(os.path.join(out, name)) as f:
            vals = [float(l) for l in f if l.strip()]
        return (max(vals) - idle) / 1024 if vals else None
    except OSError:
        return None
gpu = open(os.path.join(out, "gpu.txt")).read().strip()
kit, torch = load("kit.json"), load("torch.json")
rows = []
def fmt(v, f="{:.3f}"):
    return "—" if v is None else f.format(v)
if kit:
    rows.append((f"kit (burn 0.22, {kit['device']})", kit["median_step_s"], kit["steps_per_second"], kit["achieved_tflops"], kit["step_tflop"], peak("kit-memory.csv")))
if torch:
    rows.append((f"PyTorch {torch['torch']}", torch["median_step_s"], torch["steps_per_second"], torch["achieved_tflops"], torch["step_tflop"], peak("torch-memory.csv")))
what = (f"{kit['scale']} scale: {kit['parameters']} parameters, batch {kit['batch_size']}, "
        f"{kit['size'][0]}x{kit['size'][1]}, {kit['steps']} steps on {kit['device']}") if kit else "the kit's run failed"
lines = [f"# {title} on {gpu}", "",
         f"{what}; {loss}; median of the timed steps.", "",
         "| side | s/step | steps/s | TFLOP/s | TFLOP/step (own count) | peak GPU memory (GiB, sampled) |",
         "|---|---|---|---|---|---|"]
for r in rows:
    lines.append(f"| {r[0]} | {fmt(r[1], '{:.4f}')} | {fmt(r[2], '{:.2f}')} | {fmt(r[3], '{:.2f}')} | {fmt(r[4])} | {fmt(r[5], '{:.2f}')} |")
if kit and torch:
    lines += ["", f"kit / PyTorch step time: {kit['median_step_s'] / torch['median_step_s']:.2f}x"]
lines += ["", f"kit exit status {kit_status}; PyTorch {torch_status}."]
text = "\n".join(lines) + "\n"
open(os.path.join(out, "summary.md"), "w").write(text)
print(text)
PY
[ "$kit_status" -eq 0 ]
