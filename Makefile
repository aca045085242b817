# make all        every experiment whose figure or results are missing or older than its script or common.py,
#                 one training per core, then the data mosaic, REPRODUCTION.md and the README's tables
# make test       the lab's tests, on every core (about three minutes on two cores; idle cores steal waiting tests)
# make check      is the repository what its programs write from results/, the search's study and the calibration's
#                 cells? (REPRODUCTION.md, the README's tables, the figures, tools/searches/, CALIBRATION.md); CI runs
#                 it beside make test
# make mine       your own experiments (every NN_*.py that is not one of the lab's, tools/places.py), each a --quick
#                 run; one that fails is said in a line and the others still run
# make report     REPRODUCTION.md, the overview figures and the README's tables from results/*.json (trains nothing)
# make calibrate  tools/calibration/CALIBRATION.md and its figure from the calibration's data (trains nothing);
#                 make calibrate-sweep trains what the sweep lacks (hours; it resumes where it stopped)
# make search     the structured search with Optuna of 01_base's settings and pieces, pruned by Hyperband up to 30
#                 epochs (tools/searches/pieces/SEARCH.md), one worker per core; it resumes where it stopped. Then
#                 python -m tools.search --study pieces --final trains the best as 10_searched_pieces.py, and make
#                 steps walks to it from 01_base one change at a time (the first study, of the report's five knobs
#                 only: --study 01_base, tools/searches/01_base/)
# make dashboard  the search's study in Optuna's dashboard on loopback (http://127.0.0.1:8080/), until Ctrl-C
# make tensorboard  every run in runs/ in TensorBoard on loopback (http://127.0.0.1:6006/), until Ctrl-C
# make bench      the speed benchmarks (tools/bench/SPEED.md); make bench-lab times make clean all's trainings
# All create .venv and install requirements.txt the first time.
#
# make itself runs one thing at a time: tools/run_all.py is what fills the cores, each training on one thread.
.NOTPARALLEL:

PYTHON_FOR_VENV ?= python3
PYTHON := .venv/bin/python
# The committed figures are means over 3 seeds. With SEEDS=1 the runs go to runs/NAME/seed=0/ and the lab's
# figures/ and results/ stay as they are.
SEEDS ?= 3
# Trainings at once; empty: one per core.
JOBS ?=

.PHONY: all experiments test check mine report bench bench-lab data clean calibrate calibrate-sweep search steps \
	dashboard tensorboard

all: experiments figures/data.png report

experiments: | .venv/ready data
	$(PYTHON) -m tools.run_all --seeds $(SEEDS) $(if $(JOBS),--jobs $(JOBS))

figures/data.png: tools/show_data.py | .venv/ready data
	$(PYTHON) -m tools.show_data

report: | .venv/ready
	$(PYTHON) -m tools.report

check: | .venv/ready
	$(PYTHON) -m tools.report --check
	$(PYTHON) -m tools.search --study 01_base --report --check
	$(PYTHON) -m tools.search --study pieces --report --check
	$(PYTHON) -m tools.calibrate --draw --check

test: .venv/ready
	$(PYTHON) -m pytest -q -n auto --dist worksteal

mine: | .venv/ready data
	$(PYTHON) -m tools.run_all --mine

.venv/ready: requirements.txt
	$(PYTHON_FOR_VENV) -m venv .venv
	$(PYTHON) -m pip install --quiet --upgrade -r requirements.txt
	touch $@

# Finds the data (or downloads it with torchvision); where neither works and this is Debian run as root,
# installs Debian's package of it.
data: .venv/ready
	@$(PYTHON) -m tools.data >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	    && echo "installing Debian's dataset-fashion-mnist" \
	    && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist \
	    && $(PYTHON) -m tools.data >/dev/null; }

bench: .venv/ready | data
	$(PYTHON) -m tools.bench.bench
	$(PYTHON) -m tools.bench.step
	$(PYTHON) -m tools.bench.parallel
	$(PYTHON) -m tools.bench.board

bench-lab: .venv/ready | data
	$(PYTHON) -m tools.bench.parallel --lab 1 --seeds $(SEEDS) --out scratch/lab
	$(PYTHON) -m tools.bench.parallel --lab $$($(PYTHON) -c 'from tools.run_all import cores; print(cores())') \
	    --seeds $(SEEDS) --out scratch/lab

# The lab's own outputs; your runs in runs/ are yours, and stay.
clean:
	rm -rf figures/*.png results/*.json REPRODUCTION.md scratch

search: | .venv/ready data
	$(PYTHON) -m tools.search --study pieces

steps: | .venv/ready data
	$(PYTHON) -m tools.search --study pieces --steps

# The committed study (or STUDY=name) in Optuna's dashboard on http://127.0.0.1:8080/ (PORT=...), until Ctrl-C.
dashboard: | .venv/ready
	$(PYTHON) -m tools.search --dashboard --study $(or $(STUDY),pieces) $(if $(PORT),--port $(PORT))

tensorboard: | .venv/ready
	.venv/bin/tensorboard --logdir runs --host 127.0.0.1 --port $(or $(PORT),6006)

calibrate: | .venv/ready
	$(PYTHON) -m tools.calibrate --draw

calibrate-sweep: | .venv/ready data
	$(PYTHON) -m tools.calibrate $(if $(JOBS),--jobs $(JOBS))
