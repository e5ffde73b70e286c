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
# Fontloom's fused engine (the webgpu default) beside PyTorch CUDA: tiny, small and seed at batches
# 32 and 128, each step and an A–Z sheet; then tfjs's own webgpu kernels (FONTLOOM_FUSED=0) as the
# before. Most important first; a call starts only while it can end (timeouts 90 and 120 s) before
# about 9 minutes, inside the device's 10-minute command limit.
left() { [ "$MODE" = quick ] && [ "$SECONDS" -gt 240 ] && return 1; [ "$SECONDS" -lt "$1" ]; }
{
  echo "torch tiny b32: $(tc --width 16 --no-deep --attn low --batch 32 --steps 20 --sheet)"
  echo "fused tiny b32: $(fl tiny 32 10 --sheets)"
  echo "torch seed b32: $(tc --width 64 --deep --attn all --batch 32 --steps 20 --sheet)"
  echo "fused seed b32: $(fl seed 32 5 --sheets)"
  left 250 && echo "torch tiny b128: $(tc --width 16 --no-deep --attn low --batch 128 --steps 20)"
  left 260 && echo "fused tiny b128: $(fl tiny 128 10)"
  left 300 && echo "torch small b32: $(tc --width 32 --no-deep --attn low --batch 32 --steps 20)"
  left 310 && echo "fused small b32: $(fl small 32 10)"
  left 350 && echo "torch small b128: $(tc --width 32 --no-deep --attn low --batch 128 --steps 20)"
  left 360 && echo "fused small b128: $(fl small 128 10)"
  left 400 && echo "tfjs tiny b32 (FONTLOOM_FUSED=0): $(FONTLOOM_FUSED=0 fl tiny 32 5)"
  left 410 && echo "torch seed b128: $(tc --width 64 --deep --attn all --batch 128 --steps 10)"
  left 420 && echo "fused seed b128: $(fl seed 128 3)"
  left 430 && echo "tfjs seed b32 (FONTLOOM_FUSED=0): $(FONTLOOM_FUSED=0 fl seed 32 3)"
} | tee "$out/figures.txt"
stamp end
tail -c 3000 "$out/webgpu-stderr.txt" 2>/dev/null; tail -c 2000 "$out/torch-stderr.txt" 2>/dev/null
