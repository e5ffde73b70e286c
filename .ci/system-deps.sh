#!/usr/bin/env bash
# Installs the Debian packages Fontloom's tests need on a fresh machine:
# Mesa's lavapipe Vulkan driver from bookworm-backports (bookworm's own is too old for Dawn,
# which the webgpu backend runs on), Vulkan's loader, and Debian's Chromium for the end-to-end
# and font-rendering tests (Playwright drives /usr/bin/chromium; it never downloads a browser),
# PyTorch (python3-torch) for the test that trains an exported job under torchrun, and the two
# font validators an exported OTF must pass (fontTools, and OTS's ots-sanitize).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "system-deps: needs root for apt-get" >&2; exit 1; fi
src=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$src" ]; then
  cat > "$src" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
apt-get install -y -qq libvulkan1 fonts-dejavu-core chromium >/dev/null
# PyTorch, for test/job.test.ts: an exported training job run under torchrun (gloo, CPU).
apt-get install -y -qq python3-torch >/dev/null
# fontTools and OpenType Sanitizer, for test/otf-validators.test.ts: the exported font read whole.
apt-get install -y -qq python3-fonttools opentype-sanitizer >/dev/null
echo "system-deps: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), chromium $(dpkg-query -W -f='${Version}' chromium), python3-torch $(dpkg-query -W -f='${Version}' python3-torch), python3-fonttools $(dpkg-query -W -f='${Version}' python3-fonttools), opentype-sanitizer $(dpkg-query -W -f='${Version}' opentype-sanitizer)"
