# make all     every experiment's figure and results (only those whose script or common.py changed),
#              the data mosaic, and REPRODUCTION.md with its figures
# make test    the test suite
# make report  REPRODUCTION.md from results/*.json alone (trains nothing)
# make bench   bench/RESULTS.md: seconds per epoch against the usual DataLoader loop and the FLOP limit
# Both create .venv and install requirements.txt the first time.
#
# Trainings run one after another, even under make -j: two torch processes on the same cores
# slow each other down many times over, so running them side by side only makes all of them late.
.NOTPARALLEL:

PYTHON_FOR_VENV ?= python3
PYTHON := .venv/bin/python
# The committed figures are means over 3 seeds; make all SEEDS=1 is three times faster.
SEEDS ?= 3
EXPERIMENTS := $(basename $(wildcard [0-9][0-9]_*.py))

.PHONY: all test report bench data clean

all: $(EXPERIMENTS:%=figures/%.png) figures/data.png report

figures/%.png: %.py common.py | .venv/ready data
	$(PYTHON) $< --seeds $(SEEDS)

results/%.json: figures/%.png ;

figures/data.png: show_data.py common.py | .venv/ready data
	$(PYTHON) show_data.py

report: REPRODUCTION.md

REPRODUCTION.md: report.py $(EXPERIMENTS:%=results/%.json) | .venv/ready
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

clean:
	rm -rf figures/*.png results/*.json REPRODUCTION.md scratch
