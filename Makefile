# The two commands of the README. Each builds .venv/ on first use from this
# project's own files (pyproject.toml pins), then runs.
PY      ?= python3
VENV    := .venv
PROFILE ?= cpu
SR_DATA ?=
export SR_DATA

.PHONY: reproduce test lab venv clean-venv

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q torch==2.13.0        # CPU wheel first: nothing later may pull a CUDA build
	$(VENV)/bin/pip install -q -e '.[notebooks,test]'
	$(VENV)/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@# bytecode once (~1 CPU-min): with PYTHONDONTWRITEBYTECODE set, as on our machines, every process
	@# would otherwise recompile torch & co. from source at import (~20 s per start, measured)
	-$(VENV)/bin/python -m compileall -q -j 0 $(VENV)/lib >/dev/null 2>&1
	touch $@

venv: $(VENV)/.installed

## make reproduce [PROFILE=cpu|smoke|paper]: run every notebook headless, write results/<profile>/
reproduce: $(VENV)/.installed
	$(VENV)/bin/python -m sr_lib run-notebooks --profile $(PROFILE)

## make test: the test suite (CI calls this with SR_DATA=../shared/data)
test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -q

## make lab: open the notebooks in JupyterLab (installs it into .venv on first use)
lab: $(VENV)/.installed
	$(VENV)/bin/pip install -q -e '.[lab]'
	$(VENV)/bin/jupyter lab notebooks/

clean-venv:
	rm -rf $(VENV)
