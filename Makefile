# Shortcuts; the work is done by the scripts in devel/.
.PHONY: run test lint

run:  ## install into .venv and run the server on the embedded default (data in ./.pulp-data)
	devel/run-server

test:  ## install test dependencies into .venv and run the whole suite
	devel/test

lint:
	.venv/bin/ruff check pulp_platform client_admin common plugins extensions_admin tests devel
