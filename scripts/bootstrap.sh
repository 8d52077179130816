#!/usr/bin/env bash
# Sets up k8s-bundle on a fresh Debian machine: a virtualenv in .venv holding the project.
#   bash scripts/bootstrap.sh          the tool only (collect, redact, verify, analyze)
#   bash scripts/bootstrap.sh --test   plus what the test suite needs: pytest and friends, and,
#                                      when run as root, Debian packages (chromium for the
#                                      report's browser tests, tools the static build needs)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
PY=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null

if [ "$mode" = "--test" ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
  apt_needed=""
  for pkg in $(cat scripts/apt-test-packages.txt | grep -v '^#'); do
    # any kubectl on PATH will do (a kubectl package from another repository owns the same file)
    if [ "$pkg" = kubernetes-client ] && command -v kubectl >/dev/null; then continue; fi
    dpkg -s "$pkg" >/dev/null 2>&1 || apt_needed="$apt_needed $pkg"
  done
  if [ -n "$apt_needed" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing Debian packages:$apt_needed"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $apt_needed >/dev/null
    else
      echo "warning: not root; install these Debian packages for the full test suite:$apt_needed" >&2
    fi
  fi
else
  .venv/bin/python -m pip install -q -e .
fi
