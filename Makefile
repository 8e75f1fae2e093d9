# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install browser axe lint format bench clean train train-detector train-fonts calibrate prod-check

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[ocr,embedded,dev]'
	@touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests (Playwright's own browser download cannot work offline).
browser:
	@if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Install Chromium (e.g. 'sudo apt-get install chromium') for the browser tests."; exit 1; fi

# axe-core (npm) checks every page's accessibility in the browser tests; installed into var/
# (not committed). Needs npm: Debian's package when run as root.
AXE_VERSION := 4.14.1
AXE_JS := var/axe/node_modules/axe-core/axe.min.js
axe: $(AXE_JS)
$(AXE_JS):
	@command -v npm >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
		else echo "Install npm (e.g. 'sudo apt-get install npm') for the accessibility checks."; exit 1; fi; }
	npm install --prefix var/axe --no-save --no-audit --no-fund --no-package-lock --silent axe-core@$(AXE_VERSION)

demo: install
	$(PY) -m alpr_portal.devenv demo

test: install browser axe
	$(PY) -m alpr_portal.devenv test $(PYTEST_ARGS)

# The production stack (gunicorn, a worker per queue, one beat; ALPR_ENV=production) started
# against the configured PostgreSQL and Redis, smoke-tested over HTTP, and stopped.
prod-check: install
	$(PY) -m alpr_portal.devenv run -- $(PY) -m alpr_portal.prodrun check

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Regenerate the plate recognizer's weights (about 35 minutes on two idle cores).
FONT_PACKAGES := fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-urw-base35 \
	fonts-roboto fonts-open-sans fonts-bebas-neue fonts-freefont-ttf fonts-croscore
train-fonts:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(FONT_PACKAGES) >/dev/null; \
	else echo "Training renders with these Debian fonts: $(FONT_PACKAGES)"; fi

train: install train-fonts
	$(PY) -m captures.reading.training

# Train the plate detector (captures/reading/models/plate_detector.{pth,onnx}) on rendered
# scenes, from scratch.
train-detector: install train-fonts
	$(PY) -m captures.reading.training.detector

# Refit the confidence calibration (captures/reading/models/calibration.json) on held-out
# synthetic plates read by the committed weights.
calibrate: install train-fonts
	$(PY) -m captures.reading.training.calibrate

clean:
	rm -rf var/staticfiles var/images var/test-server-*.log
