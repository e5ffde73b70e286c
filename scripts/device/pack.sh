#!/usr/bin/env bash
# Packs what an accelerator machine without Node or npm needs to run Fontloom's webgpu benchmark
# (scripts/device/run.sh), into two folders that .git/info/exclude keeps out of git and the device
# tool carries: .device/ (Node, the benchmark bundled by esbuild, the `webgpu` package with Linux
# x64's dawn.node, the PyTorch twin and its CUDA timer) and .gl/ (the Vulkan and GL loaders, as
# Debian packages to unpack there). About 35 MB. A developer's tool; nothing in Fontloom runs it.
set -eu
cd "$(dirname "$0")/../.."
grep -qx '/.device/' .git/info/exclude 2>/dev/null || printf '/.device/\n' >> .git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || printf '/.gl/\n' >> .git/info/exclude
rm -rf .device && mkdir -p .device/node_modules/webgpu/dist/linux-x64
for entry in bench-webgpu conv-grad-webgpu; do
  npx esbuild "scripts/device/$entry.ts" --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --outfile=".device/$entry.mjs" --log-level=warning \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
done
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .device/node_modules/webgpu/
xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .device/node_modules/webgpu/dist/linux-x64/dawn.node.xz
xz -T0 -6 -c "$(command -v node)" > .device/node.xz
cp ../shared/reference/torch_unet.py scripts/device/torch_cuda.py scripts/device/run.sh .device/
if [ ! -d .gl ] || ! ls .gl/*.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .device .gl
