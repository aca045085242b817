# make all     every experiment whose figure or results are missing or older than its script or common.py,
#              one training per core (run_all.py), then the data mosaic and REPRODUCTION.md with its figures
# make test    the test suite
# make report  REPRODUCTION.md and the README's tables from results/*.json alone (trains nothing)
# make bench   bench/RESULTS.md: seconds per epoch against the usual DataLoader loop and the FLOP limit;
#              bench/STEP.md: where a step's time goes, and cheaper steps tried; bench/PARALLEL.md: two
#              trainings against one
# make bench-lab  bench/PARALLEL.md's whole-lab table: make clean all's trainings timed at one worker, then
#              at one per core (hours at SEEDS=3; its figures and results go to scratch/lab/, not the project's)
# Both create .venv and install requirements.txt the first time.
#
# make itself runs one thing at a time: run_all.py is what fills the cores, with each training on one thread.
.NOTPARALLEL:

PYTHON_FOR_VENV ?= python3
PYTHON := .venv/bin/python
# The committed figures are means over 3 seeds; make all SEEDS=1 is three times faster.
SEEDS ?= 3
# Trainings at once; empty: one per core.
JOBS ?=

.PHONY: all experiments test report bench bench-lab data clean calibrate calibrate-sweep

all: experiments figures/data.png report

experiments: | .venv/ready data
	$(PYTHON) run_all.py --seeds $(SEEDS) $(if $(JOBS),--jobs $(JOBS))

figures/data.png: show_data.py common.py | .venv/ready data
	$(PYTHON) show_data.py

report: | .venv/ready
	$(PYTHON) report.py

.venv/ready: requirements.txt
	$(PYTHON_FOR_VENV) -m venv .venv
	$(PYTHON) -m pip install --quiet --upgrade -r requirements.txt
	touch $@

# Finds the data (or downloads it with torchvision); where neither works and this is Debian run as root,
# installs Debian's package of it.
data: .venv/ready
	@$(PYTHON) common.py >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	    && echo "installing Debian's dataset-fashion-mnist" \
	    && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist \
	    && $(PYTHON) common.py >/dev/null; }

test: .venv/ready
	$(PYTHON) -m pytest -q

bench: .venv/ready | data
	$(PYTHON) bench/bench.py
	$(PYTHON) bench/step.py
	$(PYTHON) bench/parallel.py

bench-lab: .venv/ready | data
	$(PYTHON) bench/parallel.py --lab 1 --seeds $(SEEDS) --out scratch/lab
	$(PYTHON) bench/parallel.py --lab $$($(PYTHON) -c 'import run_all; print(run_all.cores())') --seeds $(SEEDS) \
	    --out scratch/lab

clean:
	rm -rf figures/*.png results/*.json REPRODUCTION.md scratch logs

# Which setup did the report run? calibrate-sweep trains the grid (hours; it resumes where it stopped),
# calibrate redraws the table and figures/calibration.png from calibration/ alone.
calibrate: | .venv/ready
	$(PYTHON) calibrate.py --draw
	$(PYTHON) report.py

calibrate-sweep: | .venv/ready data
	$(PYTHON) calibrate.py $(if $(JOBS),--jobs $(JOBS))
	$(PYTHON) report.py
