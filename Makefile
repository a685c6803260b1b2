# Two commands for a newcomer: `make book` (build and execute the whole book) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JB := $(BIN)/jupyter-book build -W -n --keep-going
# What the executed pages depend on besides their own code: a change here clears the cache.
# (pragmatic/site/ shapes and checks the built site; no page imports it.)
CACHE_DEPS := requirements.txt $(shell find pragmatic -name '*.py' -not -path 'pragmatic/site/*' 2>/dev/null) $(shell find datasets results -type f 2>/dev/null)
CACHE_STAMP := _build/.cache-stamp
# JupyterLab opens the .md pages as notebooks (jupytext) and renders their MyST (jupyterlab-myst).
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

NODE_STAMP := node_modules/.installed

# The browser tests drive the operating system's Chromium (Playwright's own download is unreachable).
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

.PHONY: env node_modules chromium book book-student homework grade student test bench bench-samplers gpu-check lab lab-grid clean

env: $(STAMP)

# A fresh venv whenever requirements.txt or pyproject.toml is newer than the last install.
# The package is installed editable without build isolation, so nothing unpinned is fetched.
$(STAMP): requirements.txt pyproject.toml hub/overrides.json
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	mkdir -p $(LAB_SETTINGS) && cp hub/overrides.json $(LAB_SETTINGS)/
	touch $@

# The site's JavaScript (KaTeX, Vega), the browser tests' axe-core and the hub test's proxy, from the npm registry at
# the versions package-lock.json pins; the book copies them into the site (pragmatic.site.assets).
node_modules: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make: npm (Node.js 18 or newer) is needed to install the site's JavaScript" >&2; exit 2; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# Installed through the package manager when we are root; otherwise one line says what is missing.
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "make: the browser tests need Chromium at $(CHROMIUM) (Debian: apt-get install chromium)" >&2; exit 2; fi; }
	@test -x $(CHROMIUM) || { echo "make: installing Chromium did not put it at $(CHROMIUM)" >&2; exit 2; }

# jupyter-cache keys on notebook code only: clear it when the package, data or pins change, with
# Sphinx's saved environment, which would otherwise keep an unchanged page's old outputs unread.
$(CACHE_STAMP): $(CACHE_DEPS)
	rm -rf _build/.jupyter_cache _build/.doctrees
	mkdir -p _build
	touch $@

book: env $(NODE_STAMP) $(CACHE_STAMP)
	$(JB) .

book-student: env $(NODE_STAMP)
	$(BIN)/python -m pragmatic.edition student _build/student-src
	$(JB) _build/student-src --path-output _build/student

# Homework (otter-grader): each homework/<assignment>.ipynb master becomes
# _build/homework/<assignment>/student/ and .../autograder/ (zip and solution notebook).
HOMEWORK_STAMP := _build/homework/.built
homework: $(HOMEWORK_STAMP)

$(HOMEWORK_STAMP): $(STAMP) $(shell find homework -type f 2>/dev/null) pragmatic/homework.py
	$(BIN)/python -m pragmatic.homework assign homework --out _build/homework --jobs 2
	touch $@

# make grade SUBMISSIONS=DIR GRADES=FILE.csv [TIMEOUT=seconds per submission] [JOBS=submissions at once]
grade: $(HOMEWORK_STAMP)
	@test -n "$(SUBMISSIONS)" && test -n "$(GRADES)" || { echo "make grade: give SUBMISSIONS=DIR and GRADES=FILE.csv" >&2; exit 2; }
	$(BIN)/python -m pragmatic.homework grade $(SUBMISSIONS) --grades $(GRADES) --built _build/homework $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(JOBS),--jobs $(JOBS))

# The student distribution: a git repository with the student edition as notebooks, the package,
# the datasets and the homework's student notebooks, and no solution. Push it where
# editions.yml's student entry says.
student: $(HOMEWORK_STAMP)
	$(BIN)/python -m pragmatic.distribution _build/student-dist --homework _build/homework

test: env $(NODE_STAMP) chromium
	$(BIN)/python -m pytest

# The course in JupyterLab, as a student sees it: each page opens as a notebook.
lab: env
	$(BIN)/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root)

# A lab's whole grid at an instructor's size, saved where the notebook reads it back:
# make lab-grid LAB=02-heteroskedasticity REPS=100000
lab-grid: env
	$(BIN)/python -m pragmatic.sim lab $(LAB) --reps $(REPS)

bench: env
	$(BIN)/python -m pragmatic.bench

# PyMC's samplers (its own, nutpie, NumPyro) on the chapters' models: about 10 minutes.
bench-samplers: env
	$(BIN)/python -m pragmatic.bench_samplers

# The GPU against the CPU (pragmatic.gpu_check): on a GPU machine, with requirements-gpu.txt
# installed in .venv too. A few minutes; exits 2 with one line where there is no GPU.
gpu-check: env
	$(BIN)/python -m pragmatic.gpu_check --out _build/gpu-check.json

clean:
	rm -rf _build
