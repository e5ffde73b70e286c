#!/usr/bin/env bash
# Fontloom's `bench` beside the PyTorch twin of the reference UNet (../shared/reference/torch_unet.py,
# Debian's python3-torch), same width, attention, batch and 2 threads, in the same minutes: the
# figures issue 4's ratios come from. A measuring instrument for developers: nothing in Fontloom or
# its tests runs it. Usage: scripts/bench-vs-pytorch.sh [out-folder]   (about 5 minutes on 2 cores)
set -u
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg}
out=${1:-/tmp/fontloom-bench}; rm -rf "$out"; mkdir -p "$out"
T=/usr/bin/python3; R=../shared/reference/torch_unet.py
F="node bin/fontloom.mjs bench --json"
stamp() { echo "$1 $(date -u +%T)" >> "$out/when.txt"; }
stamp start
$T $R bench --width 16 --no-deep --attn low --batch 32 --threads 2 --steps 5 > "$out/torch-tiny-1.json"
$F --backend wasm --preset tiny --batch 32 --steps 5 --threads 2 --sheets > "$out/wasm-tiny-2e.json" 2>/dev/null
$F --backend wasm --preset tiny --batch 32 --steps 5 --threads 1 --sheets > "$out/wasm-tiny-1e.json" 2>/dev/null
$T $R bench --width 16 --no-deep --attn low --batch 52 --threads 2 --steps 5 > "$out/torch-tiny-b52.json"
$T $R bench --width 16 --no-deep --attn low --batch 32 --threads 2 --steps 5 > "$out/torch-tiny-2.json"
stamp tiny
$T $R bench --width 32 --no-deep --attn low --batch 32 --threads 2 --steps 3 > "$out/torch-small-1.json"
$F --backend wasm --preset small --batch 32 --steps 3 --threads 2 > "$out/wasm-small-2e.json" 2>/dev/null
$F --backend wasm --preset small --batch 32 --steps 3 --threads 1 > "$out/wasm-small-1e.json" 2>/dev/null
$T $R bench --width 32 --no-deep --attn low --batch 32 --threads 2 --steps 3 > "$out/torch-small-2.json"
stamp small
$T $R bench --width 64 --no-deep --attn all --batch 8 --threads 2 --steps 2 > "$out/torch-seedlite-b8.json"
$F --backend wasm --preset seed-lite --batch 8 --steps 2 --threads 2 > "$out/wasm-seedlite-b8-2e.json" 2>/dev/null
$F --backend wasm --preset seed-lite --batch 8 --steps 2 --threads 1 > "$out/wasm-seedlite-b8-1e.json" 2>/dev/null
$T $R bench --width 64 --no-deep --attn all --batch 8 --threads 2 --steps 2 > "$out/torch-seedlite-b8-2.json"
stamp seedlite
$F --backend cpu --preset tiny --batch 32 --steps 1 --threads 2 > "$out/cpu-tiny.json" 2>/dev/null
$F --backend webgpu --preset tiny --batch 32 --steps 2 > "$out/webgpu-tiny.json" 2>/dev/null
stamp end
for f in "$out"/*.json; do echo "$(basename "$f"): $(cat "$f")"; done > "$out/all.txt"
echo "figures in $out/all.txt (times in $out/when.txt)"
