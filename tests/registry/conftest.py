"""Images published on the shared server, and the real clients (skopeo, podman) that pull them.

``images`` (session) uploads the fixture tarballs once, each into its own repository, tagged and
auto-published; tests look them up by key (``v2s2``, ``oci`` under a namespaced name, ``v2s1``, and
``protected``). Repository ids start with ``reg-`` so they never clash with other test packages.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_helpers import DATA, Image, Podman, Skopeo, registry_host, upload_image


@pytest.fixture(scope="session")
def images(pulp_server) -> dict[str, Image]:
    return {
        "v2s2": upload_image(pulp_server, "reg-v2s2", DATA / "skopeo-v2s2.tar", "latest"),
        "oci": upload_image(pulp_server, "reg-oci", DATA / "skopeo-oci.tar", "v1", registry_id="reg-ns/oci-app"),
        "v2s1": upload_image(pulp_server, "reg-v2s1", DATA / "skopeo-v2s1.tar", "old"),
        "protected": upload_image(pulp_server, "reg-protected", DATA / "skopeo-v2s2.tar", "latest",
                                  registry_id="reg-private/app", protected=True),
    }


@pytest.fixture(scope="session")
def skopeo(pulp_server) -> Skopeo:
    return Skopeo(registry_host(pulp_server))


@pytest.fixture
def podman(pulp_server) -> Iterator[Podman]:
    # podman refuses a run root longer than 50 characters, which pytest's tmp_path exceeds.
    root = Path(tempfile.mkdtemp(prefix="pm-", dir="/tmp"))
    yield Podman(registry_host(pulp_server), root)
    shutil.rmtree(root, ignore_errors=True)
