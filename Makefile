# The two commands of the README. Both set the environment up first (idempotent, seconds when
# nothing changed; a few minutes from nothing).
VENV := .venv
ACTIVATE := . $(VENV)/bin/activate

.PHONY: setup demo test clean

setup:
	bash scripts/setup.sh

demo: setup
	$(ACTIVATE) && mash-demo

test: setup
	$(ACTIVATE) && python -m pytest

clean:
	rm -rf build install log $(VENV)
