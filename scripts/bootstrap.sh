#!/usr/bin/env bash
# Installs what building and testing Inference Runtime need, and only what is
# missing: Debian packages (GTK/WebKit headers, Xvfb, Chromium, ImageMagick,
# the Vulkan loader, lavapipe, headers and glslc),
# the frontend's npm packages, and the Go modules. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  make gcc pkg-config                 # the build; cgo: SQLite, the C kernels, GTK/WebKit
  libgtk-3-dev libwebkit2gtk-4.0-dev  # the Wails desktop window on Linux
  xvfb xauth x11-utils                # headless X for the smoke and e2e tests
  chromium                            # the browser the e2e test drives
  imagemagick                         # screenshots and the blank-window check
  fonts-dejavu-core                   # so rendered text is visible
  libvulkan1 mesa-vulkan-drivers      # the Vulkan loader and lavapipe, the software device the GPU tests run on
  libvulkan-dev glslc                 # Vulkan headers for the backend's cgo; glslc for make shaders and their staleness test
  desktop-file-utils file curl        # make dist and its tests: desktop-file-validate; checking binaries; HTTP
  shared-mime-info xdg-utils dbus-daemon libfile-mimeinfo-perl  # the .gguf type, xdg-open and the single-instance hand-over in test-dist
  gcc-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64 nsis  # the Windows build and installer
  ca-certificates                     # the image's CA bundle for ir pull
  nginx                               # test-proxy: several ir serve behind nginx
)
# The Docker daemon for test-dist's image test, unless some Docker is there
# already (docker.io would conflict with Docker's own packages).
if ! command -v docker >/dev/null && ! command -v dockerd >/dev/null; then
  APT_PACKAGES+=(docker.io)
fi
MIN_NODE_MAJOR=20
MIN_NODE_MINOR=19 # Vite 8

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

install_apt_packages() {
  if ! command -v dpkg-query >/dev/null; then
    say "not a Debian-style system; install the equivalents of: ${APT_PACKAGES[*]}"
    return
  fi
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing packages (${missing[*]}) and no sudo; install them as root"
    sudo=(sudo)
  fi
  say "installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

check_tools() {
  command -v go >/dev/null || die "Go is not installed (need the version in go.mod)"
  command -v node >/dev/null || die "Node.js is not installed (need ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR} or newer)"
  local v major minor
  v="$(node --version)"; v="${v#v}"
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  if [ "$major" -lt "$MIN_NODE_MAJOR" ] || { [ "$major" -eq "$MIN_NODE_MAJOR" ] && [ "$minor" -lt "$MIN_NODE_MINOR" ]; }; then
    die "Node.js $v is too old; need ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR} or newer"
  fi
}

# npm ci only when node_modules does not match package-lock.json.
install_npm_packages() {
  local stamp=frontend/node_modules/.bootstrap-lock-sha256 want
  want="$(sha256sum frontend/package-lock.json | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  say "npm ci (frontend)"
  (cd frontend && npm ci --no-audit --no-fund)
  echo "$want" >"$stamp"
}

install_apt_packages
check_tools
install_npm_packages
go mod download
