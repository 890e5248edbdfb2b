"""The parts of ``devel/bench``: servers to compare, images, clients, timing, memory, phases and the report.

``devel/bench`` puts ``devel/`` on ``sys.path`` and runs :func:`benchmarks.cli.main`; each module holds
one thing (starting a server, sampling memory, timing alternating rounds, …) so other devel scripts can
reuse it.
"""
