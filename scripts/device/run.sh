#!/usr/bin/env bash
# Runs on the accelerator machine, from the repository root, with .device/ and .gl/ carried
# (scripts/device/pack.sh): Fontloom's webgpu backend on the GPU through Vulkan beside the PyTorch
# twin on CUDA, same presets and batches. Figures go to $OUT (or /tmp/fontloom-device) and a short
# table to stdout. Usage: bash .device/run.sh [quick|webgpu]   (webgpu: Fontloom's figures alone)
set -u
MODE=${1:-}
out=${OUT:-/tmp/fontloom-device}; mkdir -p "$out"
D=$PWD/.device
for f in .gl/*.deb; do dpkg -x "$f" / ; done; ldconfig
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg}; mkdir -p "$XDG_RUNTIME_DIR"
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
if [ -f "$D/node_modules/webgpu/dist/linux-x64/dawn.node.xz" ]; then
  xz -dc "$D/node_modules/webgpu/dist/linux-x64/dawn.node.xz" > "$D/node_modules/webgpu/dist/linux-x64/dawn.node"
fi
NODE=$(command -v node || true)
if [ -z "$NODE" ] || ! "$NODE" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  xz -dc "$D/node.xz" > /tmp/node && chmod +x /tmp/node && NODE=/tmp/node
fi
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; "$NODE" --version; ldconfig -p | grep -i vulkan; } 2>&1 | tee "$out/machine.txt"
T=python3
stamp() { echo "$1 $(date -u +%T)" >> "$out/when.txt"; }
fl() { # preset batch steps [--sheets] -> one JSON line (bench's stderr kept apart)
  timeout 120 "$NODE" "$D/bench-webgpu.mjs" "$@" 2>>"$out/webgpu-stderr.txt" || echo "{\"error\":\"exit $? for $*\"}"
}
tc() {
  [ "$MODE" = webgpu ] && { echo '{"skipped":"webgpu only"}'; return; }
  timeout 90 $T "$D/torch_cuda.py" "$@" 2>>"$out/torch-stderr.txt" || echo "{\"error\":\"exit $? for $*\"}"
}
stamp start
{
  echo "torch seed b4: $(tc --width 64 --deep --attn all --batch 4 --steps 20 --sheet)"
  echo "webgpu seed b4: $(fl seed 4 10 --sheets)"
  echo "torch seed b32: $(tc --width 64 --deep --attn all --batch 32 --steps 20)"
  echo "webgpu seed b32: $(fl seed 32 5)"
  # The rest only while the lease allows (each call below is bounded by its timeout).
  if [ "$MODE" != quick ] && [ "$SECONDS" -lt 300 ]; then
    echo "torch tiny b32: $(tc --width 16 --no-deep --attn low --batch 32 --steps 20 --sheet)"
    echo "webgpu tiny b32: $(fl tiny 32 10 --sheets)"
    echo "torch seed-lite b32: $(tc --width 64 --no-deep --attn all --batch 32 --steps 20)"
    echo "webgpu seed-lite b32: $(fl seed-lite 32 5)"
    echo "webgpu tiny b32, 100 kernels a submission: $(FONTLOOM_DEVICE_SUBMIT_BATCH=100 fl tiny 32 10)"
    echo "webgpu seed b4, 100 kernels a submission: $(FONTLOOM_DEVICE_SUBMIT_BATCH=100 fl seed 4 10)"
  fi
} | tee "$out/figures.txt"
echo "filter gradient variants: $(timeout 120 "$NODE" "$D/conv-grad-webgpu.mjs" 2>>"$out/webgpu-stderr.txt")" | tee "$out/conv-grad.txt"
stamp end
tail -c 3000 "$out/webgpu-stderr.txt" 2>/dev/null; tail -c 2000 "$out/torch-stderr.txt" 2>/dev/null
