#!/usr/bin/env bash
# Checks the Linux packages `make dist` made:
#
#   e2e/dist/linux.sh [dist]
#
# - the .deb's control fields, and that Depends names the package of every
#   library the two binaries link (as this Debian resolves them);
# - its files: both binaries in /usr/bin, the desktop entry (checked with
#   desktop-file-validate), the icon at each size, the MIME type of .gguf
#   (compiled with update-mime-database and looked up by name and content);
# - the tarball holds the same tree;
# - as root: installs the .deb with apt-get into a private overlay of /usr,
#   /etc and /var (nothing stays installed; apt fetches what Depends lacks),
#   runs `ir --version` from the PATH, starts the installed app on Xvfb with
#   a D-Bus session, opens a .gguf with xdg-open, and sees the running app
#   import it (the second start hands it over and exits). Not root, or no
#   overlay: says so and skips that part.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dist="$(realpath "${1:-dist}")"

fail() { echo "dist/linux: $*" >&2; exit 1; }
say() { echo "dist/linux: $*"; }
trap 'fail "line $LINENO: $BASH_COMMAND failed"' ERR
# pkg_of PATH...: the package owning the first of the paths dpkg knows
# (with merged /usr a library has two names, and dpkg knows one).
pkg_of() {
  local p o
  for p in "$@"; do
    if o="$(dpkg -S "$p" 2>/dev/null)"; then
      echo "${o%%:*}"
      return
    fi
  done
}

arch="$(dpkg --print-architecture)"
shopt -s nullglob
debs=("$dist"/inference-runtime_*_"$arch".deb)
tars=("$dist"/inference-runtime-*-linux-"$arch".tar.gz)
shopt -u nullglob
[ ${#debs[@]} -eq 1 ] || fail "want one .deb in $dist, found ${#debs[@]}"
[ ${#tars[@]} -eq 1 ] || fail "want one tarball in $dist, found ${#tars[@]}"
deb="${debs[0]}"
tarball="${tars[0]}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- control fields ---
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = inference-runtime ] || fail "Package: $(field Package)"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
version="$(field Version)"
dpkg --validate-version "$version" || fail "Version $version is not a Debian version"
[ -n "$(field Description)" ] && [ -n "$(field Maintainer)" ] && [ -n "$(field Installed-Size)" ] || fail "Description, Maintainer or Installed-Size missing"
depends="$(field Depends)"
for p in libgtk-3-0 libwebkit2gtk-4.0-37; do
  grep -qE "(^|, )$p( |,|$)" <<<"$depends" || fail "Depends lacks $p: $depends"
done

# --- files ---
dpkg-deb --extract "$deb" "$work/root"
dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/list"
want=(/usr/bin/inference-runtime /usr/bin/ir /usr/share/applications/inference-runtime.desktop
  /usr/share/mime/packages/inference-runtime.xml /usr/share/doc/inference-runtime/README)
for size in 16 24 32 48 64 128 256 512; do
  want+=("/usr/share/icons/hicolor/${size}x${size}/apps/inference-runtime.png")
  got="$(identify -format '%wx%h' "$work/root/usr/share/icons/hicolor/${size}x${size}/apps/inference-runtime.png")"
  [ "$got" = "${size}x${size}" ] || fail "the ${size}px icon is $got"
done
for f in "${want[@]}"; do
  grep -qx "$f" "$work/list" || fail "the .deb lacks $f"
done
for b in inference-runtime ir; do
  [ -x "$work/root/usr/bin/$b" ] || fail "/usr/bin/$b is not executable"
done
# Every library the binaries link comes from a package in Depends.
for b in inference-runtime ir; do
  for lib in $(readelf -d "$work/root/usr/bin/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    # (awk reads to the end: an early exit would fail the pipe)
    path="$(ldconfig -p | awk -v l="$lib" '$1 == l && !p {p = $NF} END {print p}')"
    [ -n "$path" ] || fail "$b links $lib, which this machine does not have"
    pkg="$(pkg_of "$path" "$(realpath "$path")" "${path/#\/usr\/lib\//\/lib\/}")"
    [ -n "$pkg" ] || fail "no Debian package has $path"
    grep -qE "(^|, )$pkg( |,|$)" <<<"$depends" || fail "$b links $lib from $pkg, which Depends lacks: $depends"
  done
done

# The newest glibc symbol version the binaries need is within libc6's bound.
libc_min="$(sed -n 's/.*libc6 (>= \([0-9.]*\)).*/\1/p' <<<"$depends")"
[ -n "$libc_min" ] || fail "Depends gives no lower bound for libc6: $depends"
for b in inference-runtime ir; do
  need="$(objdump -T "$work/root/usr/bin/$b" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)"
  dpkg --compare-versions "$need" le "$libc_min" || fail "$b needs glibc $need, Depends says libc6 (>= $libc_min)"
done

# --- desktop entry ---
entry="$work/root/usr/share/applications/inference-runtime.desktop"
desktop-file-validate "$entry" || fail "desktop-file-validate found errors"
grep -qx 'MimeType=application/x-gguf;' "$entry" || fail "the desktop entry does not list application/x-gguf"
grep -qE '^Exec=inference-runtime %[FfUu]$' "$entry" || fail "Exec does not pass the files: $(grep ^Exec= "$entry")"
grep -qx 'Icon=inference-runtime' "$entry" || fail "Icon is not inference-runtime"

# --- MIME type: by name and by content ---
mkdir -p "$work/mime/mime/packages"
cp "$work/root/usr/share/mime/packages/inference-runtime.xml" "$work/mime/mime/packages/"
update-mime-database "$work/mime/mime" 2>/dev/null
grep -qx 'application/x-gguf' "$work/mime/mime/types" || fail "update-mime-database did not register application/x-gguf"
grep -q '^[0-9]*:application/x-gguf:\*\.gguf$' "$work/mime/mime/globs2" || fail "no *.gguf glob"
printf 'GGUF\003\000\000\000' >"$work/model.bin"
if command -v gio >/dev/null; then
  type="$(XDG_DATA_DIRS="$work/mime:/usr/share" XDG_DATA_HOME="$work/none" gio info -a standard::content-type "$work/model.bin")"
  grep -q 'application/x-gguf' <<<"$type" || fail "a file starting with GGUF is not application/x-gguf by content: $type"
fi

# --- tarball ---
tar -tzf "$tarball" | sed 's|^[^/]*/|/usr/|' | grep -v '/$' | sort >"$work/tarlist"
grep -v '/$' "$work/list" | grep -v '^/$' | sort >"$work/deblist"
diff -u "$work/deblist" "$work/tarlist" >/dev/null || fail "the tarball's files differ from the .deb's: $(diff "$work/deblist" "$work/tarlist" | head)"
say "$(basename "$deb"): control, $(wc -l <"$work/deblist") files, desktop entry, MIME type, tarball: ok"

# --- install and open a .gguf ---
if [ "$(id -u)" -ne 0 ]; then
  say "not root: skipping the installation test (run as root, as CI does)"
  exit 0
fi
"$work/root/usr/bin/ir" synth tiny F32 "$work/double click.gguf" >/dev/null
"$work/root/usr/bin/ir" synth tiny Q8_0 "$work/second.gguf" >/dev/null
chmod -R a+rX "$work"
# A private overlay where the kernel allows one (not inside some
# containers); else, on a machine where the package is not installed, the
# real thing followed by apt-get purge.
mkdir -p "$work/probe/lower" "$work/probe/upper" "$work/probe/work" "$work/probe/mnt"
if unshare -m --propagation private mount -t overlay overlay \
  -o "lowerdir=$work/probe/lower,upperdir=$work/probe/upper,workdir=$work/probe/work" "$work/probe/mnt" 2>/dev/null; then
  unshare -m --propagation private "$here/install.sh" "$deb" "$work" || fail "installation test failed"
elif dpkg-query -W -f='${Status}' inference-runtime 2>/dev/null | grep -q 'install ok installed'; then
  say "no overlay mounts here and inference-runtime is installed: skipping the installation test"
else
  say "no overlay mounts here: installing on this machine, and purging afterwards"
  IR_DIST_NO_OVERLAY=1 "$here/install.sh" "$deb" "$work" || fail "installation test failed"
fi
