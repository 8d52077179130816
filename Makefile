# Short names for the project's own scripts; each target says what it runs.
#   make binary   dist/k8s-bundle (static collector binary) + dist/k8s-bundle.sha256
#   make test     the test suite (what CI runs after scripts/bootstrap.sh --test)
#   make sample   rebuild the sample bundles in samples/
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: binary binary-force test sample

binary:
	bash packaging/build-linux.sh

binary-force:
	bash packaging/build-linux.sh --force

test:
	$(PYTHON) -m pytest

sample:
	$(PYTHON) samples/build.py
