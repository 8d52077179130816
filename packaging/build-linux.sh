#!/usr/bin/env bash
# Builds dist/k8s-bundle: the collector-only, fully static Linux binary, and
# dist/k8s-bundle.sha256 beside it. Steps and reasons: docs/building.md.
#
#   bash packaging/build-linux.sh           build unless dist/ matches the current sources
#   bash packaging/build-linux.sh --force   always rebuild
#
# Needs (Debian): python3-venv python3-dev patchelf binutils, and PyPI for the build venv.
# Debian's own /usr/bin/python3 is used on purpose: staticx refuses PyInstaller output built
# from a Python whose libraries carry a DT_RUNPATH (pyenv's and others'; staticx issue 188).
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
case "${1:-}" in
  "") ;;
  --force) force=1 ;;
  *) echo "usage: bash packaging/build-linux.sh [--force]" >&2; exit 2 ;;
esac

PY=${BUILD_PYTHON:-/usr/bin/python3}
VENV=build/venv
OUT=dist/k8s-bundle
HASH_FILE=dist/.k8s-bundle.source-hash

# Exit 3: a build prerequisite is missing (the test suite tells this apart from a failed build).
missing() { echo "build-linux: $*" >&2; exit 3; }

[ -x "$PY" ] || missing "$PY not found; apt-get install python3-venv python3-dev"
"$PY" -c 'import ensurepip, sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null \
  || missing "$PY lacks venv or its headers; apt-get install python3-venv python3-dev"
for tool in patchelf objcopy ldd flock sha256sum; do
  command -v "$tool" >/dev/null || missing "$tool not on PATH; apt-get install patchelf binutils"
done

mkdir -p build dist
# One build at a time: `make binary` and the test suite may start one together.
exec 9>build/.build-linux.lock
flock 9

# The cache key covers the sources, the packaging and the interpreter building them.
pyversion=$("$PY" -c 'import sys; print(sys.version.split()[0])')
hash="$("$PY" packaging/selection.py source-hash)-$pyversion"
if [ "$force" = 0 ] && [ -x "$OUT" ] && [ -f "$OUT.sha256" ] && [ "$(cat "$HASH_FILE" 2>/dev/null)" = "$hash" ] \
   && (cd dist && sha256sum --quiet -c k8s-bundle.sha256); then
  echo "build-linux: $OUT is up to date with the sources"
  exit 0
fi

start=$(date +%s)
rm -f "$HASH_FILE"
# Reuse the venv only if it was made from the same interpreter (links resolved: python3 -> python3.11).
realpy='import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))'
if [ ! -x "$VENV/bin/python" ] || [ "$("$VENV/bin/python" -c "$realpy")" != "$("$PY" -c "$realpy")" ]; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip install -r packaging/requirements-build.txt
# Only the collector's runtime dependencies: the analyzer's (polars, jinja2, cel-python,
# jsonschema) are not installed, so nothing can drag them in.
"$VENV/bin/python" packaging/selection.py requirements > build/requirements-collector.txt
pip install -r build/requirements-collector.txt
# Build from a snapshot of the sources in build/src: pip's in-tree build never writes into the
# working tree, and files edited during the build cannot mix two versions into one binary. The
# hash recorded at the end is the snapshot's.
"$VENV/bin/python" packaging/selection.py stage build/src
hash="$("$VENV/bin/python" build/src/packaging/selection.py source-hash)-$pyversion"
pip install --no-deps --no-build-isolation --force-reinstall build/src

# Run from build/: from the repository root, `python -m` would put the source folder
# k8s_bundle/ (without the folders setup.py maps beneath it) ahead of the installed package.
(cd build && venv/bin/python -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath pyinstaller-dist --workpath pyinstaller-work src/packaging/k8s-bundle-linux.spec)
# staticx bundles the dynamic loader, glibc and every other library the PyInstaller output
# needs into one static executable. --no-compress: the PyInstaller payload is zlib-compressed
# already, so xz gains ~2.5 MB but costs ~0.35 s of decompression at every start (measured:
# --version 0.63 s compressed, 0.30 s not).
PATH="$VENV/bin:$PATH" "$VENV/bin/staticx" --strip --no-compress build/pyinstaller-dist/k8s-bundle "$OUT.tmp"
chmod 0755 "$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
(cd dist && sha256sum k8s-bundle > k8s-bundle.sha256.tmp && mv -f k8s-bundle.sha256.tmp k8s-bundle.sha256)
echo "$hash" > "$HASH_FILE"

"$OUT" --version
echo "build-linux: $OUT $(stat -c %s "$OUT") bytes, built in $(( $(date +%s) - start )) s; checksum in $OUT.sha256"
