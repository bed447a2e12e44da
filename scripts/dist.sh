#!/usr/bin/env bash
# Builds the packages `make dist` makes, into dist/:
#
#   scripts/dist.sh linux     inference-runtime_<version>_<arch>.deb and
#                             inference-runtime-<version>-linux-<arch>.tar.gz
#                             from bin/inference-runtime and bin/ir
#   scripts/dist.sh windows   windows/inference-runtime.exe and windows/ir.exe,
#                             cross-compiled with mingw-w64, and the installer
#                             inference-runtime-<version>-windows-amd64-setup.exe
#   scripts/dist.sh docker    docker/ir (static) and docker/Dockerfile: the
#                             context of the `ir serve` image
#
# make passes VERSION, LDFLAGS, TAGS and GO; the Linux binaries and
# frontend/dist must be built already (make does that first).
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
TAGS="${TAGS:-sqlite_fts5}"
VERSION="${VERSION:-dev}"
LDFLAGS="${LDFLAGS:-}"
DIST="${DIST:-dist}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

say() { printf 'dist: %s\n' "$*"; }
die() { printf 'dist: %s\n' "$*" >&2; exit 1; }

# The runtime libraries of the desktop app and where Debian 12 has them;
# scripts/test-dist.sh checks that every library the binaries link is
# covered.
DEPENDS="libc6 (>= 2.34), libglib2.0-0 (>= 2.56), libgtk-3-0 (>= 3.22), libgdk-pixbuf-2.0-0 (>= 2.40), libwebkit2gtk-4.0-37 (>= 2.40), libjavascriptcoregtk-4.0-18 (>= 2.40)"
# Not needed to start, but for the file type, desktop integration, and
# single-instance hand-over (D-Bus session bus).
RECOMMENDS="shared-mime-info, desktop-file-utils, xdg-utils, default-dbus-session-bus | dbus-session-bus"
ICON_SIZES=(16 24 32 48 64 128 256 512)

# debian_version turns `git describe` output into a Debian version: a tag
# v1.2.3 gives 1.2.3; an untagged commit abc1234 gives 0.0~gabc1234; a
# dirty tree adds +dirty.
debian_version() {
  local v="${1#v}" dirty=""
  case "$v" in *-dirty) dirty="+dirty"; v="${v%-dirty}" ;; esac
  if [[ "$v" =~ ^[0-9] ]]; then
    v="${v//-/+}" # 1.2.3-4-gabc -> 1.2.3+4+gabc (no Debian revision)
  else
    v="0.0~g${v//-/.}"
  fi
  printf '%s%s\n' "$v" "$dirty"
}

# stage_tree DIR: the installed layout under DIR (usr/...).
stage_tree() {
  local root="$1" size
  install -D -m 0755 bin/inference-runtime "$root/usr/bin/inference-runtime"
  install -D -m 0755 bin/ir "$root/usr/bin/ir"
  install -D -m 0644 build/linux/inference-runtime.desktop "$root/usr/share/applications/inference-runtime.desktop"
  install -D -m 0644 build/linux/inference-runtime-mime.xml "$root/usr/share/mime/packages/inference-runtime.xml"
  for size in "${ICON_SIZES[@]}"; do
    mkdir -p "$root/usr/share/icons/hicolor/${size}x${size}/apps"
    convert build/appicon.png -resize "${size}x${size}" -strip \
      "$root/usr/share/icons/hicolor/${size}x${size}/apps/inference-runtime.png"
  done
  mkdir -p "$root/usr/share/doc/inference-runtime"
  cat >"$root/usr/share/doc/inference-runtime/README" <<EOF
Inference Runtime $VERSION: run large language models locally from GGUF files.

  inference-runtime [FILE.gguf...]   the desktop app; files named are imported
                                     (into the running window if one is open)
  ir --help                          the command line: run, serve, import, pull...

Models and chats live in ~/.local/share/inference-runtime (or \$IR_HOME).
EOF
  chmod 0644 "$root/usr/share/doc/inference-runtime/README"
}

build_linux() {
  local b
  for b in bin/inference-runtime bin/ir; do
    [ -x "$b" ] || die "$b is not built (make desktop ir)"
  done
  local arch debver stage
  arch="$(dpkg --print-architecture 2>/dev/null || $GO env GOARCH)"
  debver="$(debian_version "$VERSION")"
  stage="$DIST/linux/inference-runtime_${debver}_${arch}"
  rm -rf "$DIST/linux"
  mkdir -p "$stage/DEBIAN"
  stage_tree "$stage"
  cat >"$stage/DEBIAN/control" <<EOF
Package: inference-runtime
Version: $debver
Architecture: $arch
Maintainer: Inference Runtime developers <inference-runtime@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $DEPENDS
Recommends: $RECOMMENDS
Section: utils
Priority: optional
Description: run large language models locally from GGUF files
 A desktop app (inference-runtime) and a command-line tool (ir) that run
 GGUF language models on this machine: chat, import and download models,
 and serve Ollama- and OpenAI-compatible HTTP APIs (ir serve).
 .
 Opening a .gguf file (application/x-gguf) imports it into the app.
EOF
  mkdir -p "$DIST"
  local deb="$DIST/inference-runtime_${debver}_${arch}.deb"
  rm -f "$DIST"/inference-runtime_*_"$arch".deb
  # gzip: xz takes minutes on the 100 MB of binaries for a few MB less.
  dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null
  say "$deb"

  local tardir="inference-runtime-$VERSION"
  local tarball="$DIST/inference-runtime-$VERSION-linux-$arch.tar.gz"
  rm -f "$DIST"/inference-runtime-*-linux-"$arch".tar.gz
  mkdir -p "$DIST/linux/tar/$tardir"
  cp -a "$stage/usr/." "$DIST/linux/tar/$tardir/"
  tar -C "$DIST/linux/tar" --owner=0 --group=0 -czf "$tarball" "$tardir"
  say "$tarball"
}

build_windows() {
  local cc=x86_64-w64-mingw32-gcc
  command -v "$cc" >/dev/null || die "$cc is missing (Debian: gcc-mingw-w64-x86-64-posix; make setup installs it)"
  [ -f frontend/dist/index.html ] || die "frontend/dist is not built (make frontend)"
  local out="$DIST/windows"
  rm -rf "$out"
  mkdir -p "$out"
  convert build/appicon.png -define icon:auto-resize=256,128,64,48,32,16 "$out/appicon.ico"
  # The icon and manifest go into the .exe as a .syso in the main package;
  # it exists only during this build (the name keeps it out of other
  # platforms' builds either way).
  local syso=rsrc_windows_amd64.syso
  cp build/windows/app.rc build/windows/inference-runtime.exe.manifest "$out/"
  x86_64-w64-mingw32-windres -O coff -i "$out/app.rc" -o "$syso" --include-dir "$out"
  rm -f "$out/app.rc" "$out/inference-runtime.exe.manifest"
  trap 'rm -f "$PWD/rsrc_windows_amd64.syso"' EXIT
  # -static: libwinpthread and libgcc go into the executables, so they need
  # only DLLs every Windows has.
  local env=(CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC="$cc")
  say "cross-compiling for windows/amd64"
  env "${env[@]}" "$GO" build -tags "desktop,production,$TAGS" \
    -ldflags "$LDFLAGS -H windowsgui -extldflags -static" -o "$out/inference-runtime.exe" .
  rm -f "$syso"
  env "${env[@]}" "$GO" build -tags "$TAGS" -ldflags "$LDFLAGS -extldflags -static" -o "$out/ir.exe" ./cmd/ir
  say "$out/inference-runtime.exe, $out/ir.exe"
  if command -v makensis >/dev/null; then
    local setup="inference-runtime-$VERSION-windows-amd64-setup.exe"
    rm -f "$DIST"/inference-runtime-*-windows-amd64-setup.exe
    makensis -V2 -DVERSION="$VERSION" -DSRCDIR="$PWD/$out" -DOUTFILE="$PWD/$DIST/$setup" build/windows/installer.nsi
    say "$DIST/$setup"
  else
    say "makensis is missing (Debian: nsis): no installer, only the executables"
  fi
}

build_docker() {
  local out="$DIST/docker"
  rm -rf "$out"
  mkdir -p "$out"
  # Static, so the image needs no base: FROM scratch pulls nothing. netgo
  # and osusergo keep glibc's NSS (which a static binary cannot load) out.
  # The linker warns that dlopen (the Vulkan loader) needs glibc's own
  # libraries at run time: the image has none, so it computes on the CPU.
  if ! CGO_ENABLED=1 "$GO" build -tags "$TAGS,netgo,osusergo" \
    -ldflags "$LDFLAGS -extldflags -static" -o "$out/ir" ./cmd/ir 2>"$out/build.log"; then
    cat "$out/build.log" >&2
    die "static ir build failed"
  fi
  rm -f "$out/build.log"
  cp build/docker/Dockerfile "$out/Dockerfile"
  # The image's whole file system besides ir: the data volume's mount point
  # and /tmp, owned by the image's user, and the CA certificates for
  # `ir pull` over HTTPS (from Debian's ca-certificates).
  mkdir -p "$out/rootfs/models" "$out/rootfs/tmp" "$out/rootfs/etc/ssl/certs"
  chmod 1777 "$out/rootfs/tmp"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$out/rootfs/etc/ssl/certs/"
  else
    say "no /etc/ssl/certs/ca-certificates.crt (Debian: ca-certificates): ir pull in the image will not trust HTTPS"
  fi
  printf 'ir:x:10001:10001::/models:/usr/bin/ir\n' >"$out/rootfs/etc/passwd"
  printf 'ir:x:10001:\n' >"$out/rootfs/etc/group"
  say "$out (docker build -t inference-runtime $out)"
}

case "${1:-}" in
  linux) build_linux ;;
  windows) build_windows ;;
  docker) build_docker ;;
  *) die "usage: scripts/dist.sh linux|windows|docker" ;;
esac
