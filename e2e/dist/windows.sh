#!/usr/bin/env bash
# Checks the Windows build `make dist` cross-compiled with mingw-w64. It
# cannot run here (no Windows, no WebView2); this checks what can be seen
# from Linux:
#
#   e2e/dist/windows.sh [dist]
#
# - inference-runtime.exe is a 64-bit PE for the GUI subsystem, ir.exe for
#   the console; both import only DLLs that every Windows has (the mingw
#   runtime, winpthread and libgcc are linked in statically), and carry the
#   C kernels and SQLite;
# - the app embeds its icon and manifest;
# - the NSIS installer (when makensis was there) is a PE and registers .gguf.
set -euo pipefail
dist="$(realpath "${1:-dist}")"
win="$dist/windows"
fail() { echo "dist/windows: $*" >&2; exit 1; }
objdump=x86_64-w64-mingw32-objdump

# System DLLs a Go program with cgo may import directly; anything else
# (libwinpthread-1.dll, libgcc_s_seh-1.dll, WebView2Loader.dll) would have
# to ship beside the .exe.
system_dll='^(kernel32|msvcrt|ucrtbase|api-ms-win-[a-z0-9-]+|advapi32|user32|gdi32|shell32|ole32|oleaut32|ws2_32|winmm|ntdll|bcrypt|crypt32|secur32|iphlpapi|dbghelp|comctl32|comdlg32|shlwapi|uxtheme|dwmapi|version|userenv|powrprof)\.dll$'

check_exe() {
  local exe="$1" subsystem="$2" p dlls dll
  [ -f "$exe" ] || fail "$exe is missing"
  p="$($objdump -p "$exe")"
  grep -q 'file format pei-x86-64' <<<"$p" || fail "$exe is not a 64-bit PE"
  grep -qE "^Subsystem[[:space:]]+0000000$subsystem" <<<"$p" || fail "$exe: wrong subsystem: $(grep ^Subsystem <<<"$p")"
  dlls="$(sed -n 's/.*DLL Name: //p' <<<"$p" | tr 'A-Z' 'a-z' | sort -u)"
  grep -qx kernel32.dll <<<"$dlls" || fail "$exe does not import kernel32.dll"
  while read -r dll; do
    [[ "$dll" =~ $system_dll ]] || fail "$exe imports $dll, which Windows does not have"
  done <<<"$dlls"
  # The CGo parts: the CPU kernels and SQLite are linked in.
  local syms
  syms="$($objdump -t "$exe")"
  for s in ir_pool_new sqlite3_open_v2; do
    grep -q "$s\$" <<<"$syms" || fail "$exe lacks $s (CGo code not linked)"
  done
  echo "dist/windows: $(basename "$exe"): PE32+ x86-64, subsystem $subsystem, imports $(tr '\n' ' ' <<<"$dlls")"
}

check_exe "$win/inference-runtime.exe" 2
check_exe "$win/ir.exe" 3
$objdump -h "$win/inference-runtime.exe" | grep -q '\.rsrc' || fail "inference-runtime.exe has no resources (icon, manifest)"
grep -qa 'InferenceRuntime.Desktop' "$win/inference-runtime.exe" || fail "inference-runtime.exe lacks its manifest"

shopt -s nullglob
setups=("$dist"/inference-runtime-*-windows-amd64-setup.exe)
shopt -u nullglob
if [ ${#setups[@]} -eq 0 ]; then
  if command -v makensis >/dev/null; then fail "no installer although makensis is installed"; fi
  echo "dist/windows: no installer (makensis missing)"
  exit 0
fi
[ ${#setups[@]} -eq 1 ] || fail "${#setups[@]} installers"
file -b "${setups[0]}" | grep -q 'Nullsoft Installer' || fail "${setups[0]} is not an NSIS installer: $(file -b "${setups[0]}")"
echo "dist/windows: $(basename "${setups[0]}"): NSIS installer; .gguf association in build/windows/installer.nsi"
echo "dist/windows: not run: Windows executables cannot run on this Linux machine"
