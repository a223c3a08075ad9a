# The two commands a newcomer needs (see README.md). Both set everything up first.
VENV ?= .venv
EXTRAS ?= dev,franka,realsense,teleop,ros,viz,interop

.PHONY: demo test setup lint bench

setup:
	@tools/setup.sh $(EXTRAS)

## Run the main job: the whole loop in simulation.
demo: setup
	$(VENV)/bin/robot-rl demo $(ARGS)

## Run the test suite (default: everything but tests marked slow).
test: setup
	$(VENV)/bin/python -m pytest $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(VENV)/bin/robot-rl bench all $(ARGS)
