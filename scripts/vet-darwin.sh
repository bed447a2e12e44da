#!/usr/bin/env bash
# GOOS=darwin go vet, so that the code for macOS keeps compiling although
# no Mac build can be made here: every package but the desktop app's main
# one (Wails needs Objective-C and the macOS SDK there). There is no clang
# or SDK: the host gcc, with the macOS-only flags dropped, stands in for
# cgo to read the C preambles (amd64, so it can); nothing is linked.
#
# Windows needs no vet here: make dist cross-compiles both executables (the
# tests are Unix-only in places and are not meant to build there).
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
TAGS="${TAGS:-sqlite_fts5}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

cc="$(mktemp -d)/cc"
trap 'rm -rf "$(dirname "$cc")"' EXIT
cat >"$cc" <<'CC'
#!/usr/bin/env bash
a=()
while [ $# -gt 0 ]; do
  case "$1" in
    -arch) shift 2; continue ;;
    -mmacosx-version-min=*) shift; continue ;;
  esac
  a+=("$1"); shift
done
exec gcc "${a[@]}" -w -Wno-error
CC
chmod +x "$cc"
# shellcheck disable=SC2046
CC="$cc" GOOS=darwin GOARCH=amd64 CGO_ENABLED=1 "$GO" vet -tags "$TAGS" \
  $(GOOS=darwin "$GO" list -tags "$TAGS" ./... | grep -vx inferenceruntime)
echo "vet-darwin: darwin/amd64 ok (all packages but the desktop app's main)"

