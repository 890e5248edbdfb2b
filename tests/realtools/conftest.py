"""Fixtures for the end-to-end tests with the real tools: a private Docker engine, podman, skopeo.

``engine`` (session) is a private ``dockerd`` with a busybox base image ``base:1``; ``images``
(session) builds two tiny images on it, shared by every test. Each test makes its tarballs with the
real tools, uploads them to the shared ``pulp_server`` and pulls them back with docker, skopeo and
podman. Repository ids start with ``rt-``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from engines import Built, Engine, Podman, Skopeo, build_image


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """A private Docker engine (skips when dockerd is not installed), with ``base:1`` imported."""
    dockerd = Engine()
    try:
        dockerd.start()
        dockerd.import_base("base:1")
        yield dockerd
    finally:
        dockerd.stop()


@pytest.fixture(scope="session")
def images(engine: Engine) -> dict[str, Built]:
    """Two tiny images, ``rt-a:one`` and ``rt-b:two``, built once for the session."""
    return {"a": build_image(engine, "rt-a", "one"), "b": build_image(engine, "rt-b", "two")}


@pytest.fixture(scope="session")
def skopeo(engine: Engine) -> Skopeo:
    return Skopeo(engine)


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    tool = Podman()
    yield tool
    tool.close()


@pytest.fixture(scope="session")
def registry(pulp_server: Any) -> str:
    """``127.0.0.1:PORT``: the registry API, plain HTTP, on the REST API's address."""
    return pulp_server.url.split("://", 1)[1].rstrip("/")
