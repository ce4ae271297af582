# Build the hyperparameter optimization chapter (see README.md).
#
#   make html    environments, data, library sync, every tab evaluated, HTML + notebooks
#   make test    tests in each framework environment, d2lbook checks, every section evaluated
#                in every framework, Sphinx with unresolved references as errors, offline check
#   make help    the other targets
#
# Each framework tab is evaluated by d2lbook (from .envs/book) with the Jupyter kernel of its
# own environment (.envs/<framework>, or .envs/<framework>-gpu on a machine with NVIDIA GPUs),
# one notebook at a time (tools/d2lbook_run.py).
# Stamps under _build/stamps/ are written only after a step succeeded, and carry the time the
# step started: a source edited while a step runs makes the next `make` run it again.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := html
.DELETE_ON_ERROR:
.NOTPARALLEL:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON ?= python3
comma := ,
# The frameworks are config.ini's tabs, which d2lbook reads (d2l/frameworks.py describes each
# one; tests/test_frameworks.py checks that the two agree), read here without starting a program.
FRAMEWORKS := $(subst $(comma), ,$(patsubst tabs=%,%,$(filter tabs=%,$(subst tabs = ,tabs=,$(file <config.ini)))))
ifeq ($(FRAMEWORKS),)
$(error config.ini has no line `tabs = <tab>,<tab>,...` (no spaces in the list))
endif
CHAPTER := chapter_hyperparameter_optimization
BUILD := _build
STAMPS := $(BUILD)/stamps
PKG := $(BUILD)/d2l-hpo-asha.zip
BOOK_PY := .envs/book/bin/python
# d2lbook's formatter (yapf) caches its grammar in XDG_CACHE_HOME, else in ~/.cache.
D2LBOOK := XDG_CACHE_HOME=$(CURDIR)/$(BUILD)/home/cache $(BOOK_PY) tools/d2lbook_run.py

# What the evaluation of a tab depends on.
SECTIONS = $(wildcard $(CHAPTER)/*.md)
LIB_COMMON = $(wildcard d2l/__init__.py d2l/checkpoint.py d2l/core.py d2l/data.py \
  d2l/frameworks.py d2l/hpo.py d2l/resources.py)
IMAGES = $(wildcard static/img/*)
# The benchmark's results, which hpo-compare and hpo-simulate read (a resource, like the
# images).
BENCH_CSVS = $(wildcard benchmarks/results/*.csv)
# The files under a folder, at any depth (as `find DIR -type f`), without starting a program.
files_under = $(foreach f,$(wildcard $(1)/* $(1)/.[!.]*),$(if $(wildcard $(f)/.),$(call files_under,$(f)),$(f)))
OFFLINE_ASSETS = $(call files_under,static/offline)

# Everything the build and the notebooks write stays inside the checkout, not in $HOME.
export SYNETUNE_FOLDER := $(CURDIR)/$(BUILD)/syne-tune
export D2L_RAY_STORAGE := $(CURDIR)/$(BUILD)/ray-results
export MPLCONFIGDIR := $(CURDIR)/$(BUILD)/home/matplotlib
export KERAS_HOME := $(CURDIR)/$(BUILD)/home/keras
export IPYTHONDIR := $(CURDIR)/$(BUILD)/home/ipython
export JUPYTER_RUNTIME_DIR := $(CURDIR)/$(BUILD)/home/jupyter-runtime
export JUPYTER_PATH := $(CURDIR)/.envs/jupyter
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONNOUSERSITE := 1
ifdef D2L_HPO_BUDGET
export D2L_HPO_BUDGET
endif

# Reading this Makefile starts no program (`make help` runs only its echo lines). The budget
# and the environment choice below are computed by the recipe of $(STAMPS)/choice.mk, which make
# runs before any target (also under -n, like every included makefile) when a goal needs them.

# The budget in force ('auto' = full with a GPU, else cpu). $(STAMPS)/budget changes only when
# the choice changes, and a change re-evaluates the notebooks (tools/d2lbook_run.py).
BUDGET := $(or $(D2L_HPO_BUDGET),auto)

# The environment of each tab: <framework> (CPU builds) or <framework>-gpu (CUDA builds, when
# nvidia-smi lists a GPU; GPU=0 or GPU=1 forces), from tools/choose_envs.sh. Both kinds live
# side by side in .envs/; like the budget, the choice is recorded ($(STAMPS)/envs), and a
# change re-evaluates. $(STAMPS)/choice.mk defines ENV_<framework>; when its content changes,
# make reads the Makefile again with the new choice.
ifdef GPU
export GPU
endif
# The goals that need neither the budget nor the environments.
CHOICE_FREE_GOALS := help clean distclean check-pins lib lib-check sysdeps
ifneq ($(if $(MAKECMDGOALS),$(filter-out $(CHOICE_FREE_GOALS),$(MAKECMDGOALS)),html),)
ifneq ($(filter-out 0 1,$(GPU))$(word 2,$(GPU)),)
$(error GPU must be 0 or 1, or unset (NVIDIA GPUs are used when nvidia-smi lists one))
endif
include $(STAMPS)/choice.mk
CHOSEN_ENVS := $(foreach fw,$(FRAMEWORKS),$(ENV_$(fw)))
# Not yet there on the first read (make writes it, then reads the Makefile again).
ifneq ($(wildcard $(STAMPS)/choice.mk),)
ifneq ($(words $(CHOSEN_ENVS)),$(words $(FRAMEWORKS)))
$(error GPU must be 0 or 1, or unset (NVIDIA GPUs are used when nvidia-smi lists one))
endif
endif
endif

# $(call write_if_changed,FILE,TEXT): FILE holds the line TEXT, rewritten only when TEXT differs,
# so that what depends on FILE is remade only when it changes.
write_if_changed = [ "$$(cat $(1) 2>/dev/null)" = "$(2)" ] || echo "$(2)" > $(1)

$(STAMPS)/choice.mk: FORCE
	@mkdir -p $(@D)
	@envs=; for fw in $(FRAMEWORKS); do \
	  env=$$(tools/choose_envs.sh $$fw); envs="$${envs:+$$envs }$$env"; \
	  echo "ENV_$$fw := $$env"; \
	  echo "MODULE_$$fw := $$($(PYTHON) d2l/frameworks.py module $$fw)"; done > $@.new; \
	cmp -s $@.new $@ && rm -f $@.new || mv -f $@.new $@; \
	$(call write_if_changed,$(STAMPS)/envs,$$envs)
	@$(call write_if_changed,$(STAMPS)/budget,$(BUDGET))

FORCE:

KERNELS := $(FRAMEWORKS:%=.envs/jupyter/kernels/d2l-%/kernel.json)

.PHONY: html test help envs lib lib-check sysdeps data site notebooks eval \
        $(FRAMEWORKS:%=env-%) $(FRAMEWORKS:%=eval-%) $(FRAMEWORKS:%=pytest-%) \
        pytest bookcheck sphinx-check offline-check reader-check ci-checks lab bench bench-hpo \
        bench-hpo-curves clean distclean check-pins FORCE

## html: set everything up, evaluate every tab, build the HTML and the notebooks
# Environments first: a GPU environment that cannot use the GPU changes the next choice.
html: sysdeps lib
	@$(MAKE) envs
	@$(MAKE) site notebooks
	@echo "HTML:      $(BUILD)/html/$(CHAPTER)/index.html"
	@echo "Notebooks: $(BUILD)/notebooks/{$(subst $() ,$(comma),$(FRAMEWORKS))}/ and $(PKG)"

## test: the tests and the book's CI (everything `make html` builds, checked strictly)
test: sysdeps
	@$(MAKE) envs
	@$(MAKE) ci-checks

ci-checks: lib-check bookcheck pytest eval site sphinx-check offline-check notebooks \
    reader-check
	@echo "make test: all checks passed"

help:
	@echo "make html            set up, evaluate every tab, build HTML + notebooks (default)"
	@echo "make test            tests per framework, d2lbook checks, full build, strict Sphinx"
	@echo "make eval-FRAMEWORK  evaluate one tab: $(FRAMEWORKS)"
	@echo "make env-FRAMEWORK   create one environment (again when its requirements changed)"
	@echo "make envs            the environments: $(FRAMEWORKS) book"
	@echo "make data            find Fashion-MNIST (Debian package) or download it into data/"
	@echo "make lib             copy the #@save blocks of the sections into d2l/"
	@echo "make pytest          run tests/ in each framework environment"
	@echo "make reader-check    the built HTML in headless Chromium, notebooks run from the zip"
	@echo "make lab             JupyterLab on the built notebooks, with the d2l-* kernels"
	@echo "make bench           Trainer overhead, Fashion-MNIST read times, trial start-up"
	@echo "make bench-hpo       RS, ASHA and sync SH: 5 seeds of real runs, simulation to 128 workers"
	@echo "make check-pins      requirements/*.txt resolve on a reader's machine (network)"
	@echo "make clean           remove _build/ (make distclean: also .envs/)"
	@echo "One section: touch it (or edit it), then make html: only it is re-evaluated."
	@echo "Budget: D2L_HPO_BUDGET=cpu|full make html (default: full with a GPU, else cpu)"
	@echo "Environments: GPU=0|1 make html (default: CUDA builds when nvidia-smi lists a GPU)"

# --- system packages, environments, data, library --------------------------------------

sysdeps:
	@tools/system_deps.sh $(PYTHON)

envs: $(CHOSEN_ENVS:%=.envs/%/.stamp) .envs/book/.stamp $(KERNELS)
	@for fw in $(FRAMEWORKS); do tools/choose_envs.sh --note $$fw; done
	@echo "Environments: $(CHOSEN_ENVS:%=.envs/%)"

$(foreach fw,$(FRAMEWORKS),$(eval env-$(fw): .envs/$(ENV_$(fw))/.stamp \
    .envs/jupyter/kernels/d2l-$(fw)/kernel.json))

.envs/book/.stamp: requirements/book.txt tools/make_env.sh
	tools/make_env.sh book $(PYTHON)

$(FRAMEWORKS:%=.envs/%/.stamp): .envs/%/.stamp: requirements/%.txt pyproject.toml tools/make_env.sh
	tools/make_env.sh $* $(PYTHON)
.envs/pytorch/.stamp: requirements/pytorch-linux-cuda-constraints.txt

$(FRAMEWORKS:%=.envs/%-gpu/.stamp): .envs/%-gpu/.stamp: requirements/%-gpu.txt pyproject.toml \
    tools/make_env.sh tools/gpu_probe.py
	tools/make_env.sh $*-gpu $(PYTHON)

# The d2l-<framework> kernel is the chosen environment's (JUPYTER_PATH=.envs/jupyter).
define KERNEL_RULE
.envs/jupyter/kernels/d2l-$(1)/kernel.json: .envs/$(ENV_$(1))/.stamp $(STAMPS)/envs
	@mkdir -p $$(@D)
	cp .envs/$(ENV_$(1))/kernel.json $$@
endef
$(foreach fw,$(FRAMEWORKS),$(eval $(call KERNEL_RULE,$(fw))))

# Fashion-MNIST: Debian's package (installed by sysdeps when root), else d2l downloads it.
data: .envs/$(firstword $(CHOSEN_ENVS))/.stamp
	@cd /tmp && $(CURDIR)/.envs/$(firstword $(CHOSEN_ENVS))/bin/python -c \
	  'from d2l import data; print("Fashion-MNIST:", data.find_fashion_mnist())'

# Each requirement file, resolved by pip as on a reader's machine (this machine's pip
# configuration off, the public index) for Linux x86_64 and, where promised, macOS arm64:
# every pin resolves, pip adds nothing unpinned. Needs the network: not part of `make test`.
check-pins:
	$(PYTHON) tools/check_pins.py

lib:
	@$(PYTHON) tools/build_lib.py

lib-check:
	@$(PYTHON) tools/build_lib.py --check && echo "d2l/ is up to date with the sections"

# --- evaluation: one stamp per tab -----------------------------------------------------

eval: $(FRAMEWORKS:%=$(STAMPS)/eval-%)

$(FRAMEWORKS:%=eval-%): eval-%: $(STAMPS)/eval-%

# The notebooks meet a real Ray cluster (RAY_ADDRESS): two nodes on 127.0.0.1, each with half
# the cores, started by tools/ray_cluster.py with the tab's environment and stopped afterwards,
# also when a cell fails; its files stay in $(BUILD)/ray-<framework>.
RAY_CPUS_PER_NODE = $$(( $$(nproc) / 2 > 0 ? $$(nproc) / 2 : 1 ))
define EVAL_RULE
$(STAMPS)/eval-$(1): $(SECTIONS) $(CHAPTER) $(LIB_COMMON) d2l/$(MODULE_$(1)).py \
    $(IMAGES) $(BENCH_CSVS) requirements/$(ENV_$(1)).txt config.ini tools/d2lbook_run.py tools/ray_cluster.py \
    $(STAMPS)/budget \
    $(STAMPS)/envs .envs/$(ENV_$(1))/.stamp .envs/jupyter/kernels/d2l-$(1)/kernel.json \
    .envs/book/.stamp
	@echo "=== evaluating the $(1) tab with .envs/$(ENV_$(1)) (outdated notebooks only, one at a time)"
	@tools/choose_envs.sh --note $(1)
	@touch $$@.started
	@cd /tmp && $(CURDIR)/.envs/$(ENV_$(1))/bin/python -c 'from d2l import data; data.find_fashion_mnist()'
	@mkdir -p $$(SYNETUNE_FOLDER) $$(D2L_RAY_STORAGE) $$(MPLCONFIGDIR) $$(KERAS_HOME) $$(IPYTHONDIR) \
	  $$(JUPYTER_RUNTIME_DIR)
	@rm -rf $(BUILD)/ray-$(1)
	.envs/$(ENV_$(1))/bin/python tools/ray_cluster.py --dir $(BUILD)/ray-$(1) --nodes 2 \
	  --cpus-per-node $$(RAY_CPUS_PER_NODE) -- env $(D2LBOOK) build eval --tab $(1)
	@mv -f $$@.started $$@
endef
$(foreach fw,$(FRAMEWORKS),$(eval $(call EVAL_RULE,$(fw))))

# --- merge the tabs, HTML ---------------------------------------------------------------

site: $(STAMPS)/html

# d2lbook re-merges a notebook only when the default tab's output is newer, so the merged
# tree is rebuilt from scratch whenever any tab (or a resource) changed: a few seconds.
# `build html --tab all` is not used: it would evaluate stale tabs with the book's Python.
$(STAMPS)/html: $(FRAMEWORKS:%=$(STAMPS)/eval-%) $(IMAGES) $(BENCH_CSVS) $(OFFLINE_ASSETS) \
    $(CHAPTER)/hpo.bib config.ini tools/offline_html.py tools/d2lbook_run.py
	@echo "=== merging the tabs and building the HTML"
	@touch $@.started
	rm -rf $(BUILD)/eval_all $(BUILD)/rst_all $(BUILD)/html $(BUILD)/sphinx.log
	$(D2LBOOK) build rst --tab all
	$(BOOK_PY) tools/offline_html.py prepare $(BUILD)/rst_all
	.envs/book/bin/sphinx-build -b html -c $(BUILD)/rst_all $(BUILD)/rst_all $(BUILD)/html \
	  2>&1 | tee $(BUILD)/sphinx.log.partial
	mv $(BUILD)/sphinx.log.partial $(BUILD)/sphinx.log
	$(BOOK_PY) tools/offline_html.py finish $(BUILD)/html
	$(BOOK_PY) tools/offline_html.py check $(BUILD)/html
	@mv -f $@.started $@

# Unresolved references and citations fail `make test` (Sphinx reports them as warnings).
SPHINX_ERRORS := undefined label|unknown target|citation not found|could not find bibtex key|\
failed to create a cross reference|nonexisting document|unknown document|image file not readable|\
Unknown interpreted text role|Unknown directive type|undefined substitution|duplicate label|\
not found in bibtex|term not in glossary|Inline .* start-string without end-string

sphinx-check: $(STAMPS)/html
	@if grep -E -i '$(SPHINX_ERRORS)' $(BUILD)/sphinx.log; then \
	  echo "error: Sphinx found unresolved references or citations (above; full log: $(BUILD)/sphinx.log)" >&2; \
	  exit 1; fi
	@echo "Sphinx: no unresolved references or citations ($$(grep -c 'WARNING:' $(BUILD)/sphinx.log || true) other Sphinx warnings in $(BUILD)/sphinx.log)"

offline-check: $(STAMPS)/html
	@$(BOOK_PY) tools/offline_html.py check $(BUILD)/html

# --- notebooks: one folder per framework ------------------------------------------------

notebooks: $(STAMPS)/notebooks

# `build pkg` copies each tab's evaluated notebooks (whose metadata names the d2l-<framework>
# kernel) into one folder per framework in the source root and zips them; the folders are
# moved under _build/ at once. Zero-byte placeholders (a section without that tab) are dropped.
$(STAMPS)/notebooks: $(FRAMEWORKS:%=$(STAMPS)/eval-%) config.ini tools/d2lbook_run.py
	@echo "=== packaging the notebooks"
	@touch $@.started
	rm -rf $(FRAMEWORKS) $(BUILD)/notebooks $(PKG)
	$(D2LBOOK) build pkg
	mkdir -p $(BUILD)/notebooks
	mv $(FRAMEWORKS) $(BUILD)/notebooks/
	find $(BUILD)/notebooks -name '*.ipynb' -size 0 -delete
	rm -f $(PKG) && cd $(BUILD)/notebooks && zip -q -r $(CURDIR)/$(PKG) $(FRAMEWORKS)
	@mv -f $@.started $@

lab: $(STAMPS)/notebooks
	@echo "Kernels $(FRAMEWORKS:%=d2l-%) come from JUPYTER_PATH=$(JUPYTER_PATH)"
	cd $(BUILD)/notebooks && $(CURDIR)/.envs/book/bin/jupyter lab

# --- tests ------------------------------------------------------------------------------

pytest: $(FRAMEWORKS:%=pytest-%)

# Each framework environment runs the whole suite; the tests pick the framework installed.
# Exit status 5 (no tests collected) is a failure.
define PYTEST_RULE
pytest-$(1): .envs/$(ENV_$(1))/.stamp
	@echo "=== pytest in .envs/$(ENV_$(1))"
	@.envs/$(ENV_$(1))/bin/python -m pytest -q -p no:cacheprovider tests
endef
$(foreach fw,$(FRAMEWORKS),$(eval $(call PYTEST_RULE,$(fw))))

bookcheck: .envs/book/.stamp
	$(D2LBOOK) build outputcheck tabcheck

# The reader's view, from .envs/book (tests/reader): every HTML page in headless Chromium (tabs,
# math, images, console, requests, search; screenshots in $(BUILD)/screenshots/), and one
# notebook per framework run from $(PKG) unzipped in a temporary folder.
reader-check: $(STAMPS)/html $(STAMPS)/notebooks .envs/book/.stamp
	@echo "=== the reader's view: the HTML in Chromium, the notebooks from $(PKG)"
	$(BOOK_PY) -m pytest -q -p no:cacheprovider --confcutdir=tests/reader tests/reader

# --- benchmarks -------------------------------------------------------------------------

# Figures, not tests: see benchmarks/README.md. One thread per process keeps the
# figures steady on a shared machine.
bench: envs
	@for env in $(CHOSEN_ENVS); do \
	  .envs/$$env/bin/python benchmarks/bench_trainer.py --threads 1; done
	.envs/$(firstword $(CHOSEN_ENVS))/bin/python benchmarks/bench_data.py
	@for env in $(CHOSEN_ENVS); do .envs/$$env/bin/python benchmarks/bench_startup.py; done

# RS, ASHA and synchronous SH compared (benchmarks/README.md): 5 seeds of real runs on
# $(BENCH_WALLCLOCK) s each, then Syne Tune's simulator on the committed learning curves (10
# seeds, 2 to 128 workers, and at 2 workers one cause changed at a time), then the report and
# its two figures; about 1 h 25 min on 2 cores, nearly all of it the real runs. Results go to
# $(BENCH_RESULTS) (restartable: finished runs are kept); BENCH_RESULTS=benchmarks/results
# replaces the committed CSV files, which hpo-compare and hpo-simulate read.
BENCH_RESULTS ?= $(BUILD)/bench-hpo
BENCH_FIGURES ?= $(BENCH_RESULTS)
BENCH_BUDGET ?= cpu
BENCH_WALLCLOCK ?= 300
BENCH_CURVES = --curves benchmarks/results/curves-pytorch-$(BENCH_BUDGET).csv
BENCH_PY = .envs/$(ENV_pytorch)/bin/python benchmarks/bench_hpo.py --budget $(BENCH_BUDGET) \
  --results $(BENCH_RESULTS)
bench-hpo: envs
	$(BENCH_PY) real --wallclock $(BENCH_WALLCLOCK)
	$(BENCH_PY) simulate --seeds 10 $(BENCH_CURVES)
	$(BENCH_PY) ablate --seeds 10 $(BENCH_CURVES)
	$(BENCH_PY) report --figures $(BENCH_FIGURES) $(BENCH_CURVES)

# The learning curves that the simulation replays, and the midpoint's beside them (about
# 55 minutes on 2 cores).
bench-hpo-curves: envs
	$(BENCH_PY) record
	$(BENCH_PY) record --midpoint

# --- cleaning ---------------------------------------------------------------------------

clean:
	rm -rf $(BUILD) $(FRAMEWORKS)

distclean: clean
	rm -rf .envs
