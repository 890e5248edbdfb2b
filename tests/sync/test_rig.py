"""The rig works: the TLS registry is up, verifies, asks for credentials and holds the seeded content."""

from __future__ import annotations

import pytest
import requests

from .helpers import sha256

pytestmark = pytest.mark.slow


def test_distribution_serves_tls_with_htpasswd_and_holds_the_seed(distribution) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{distribution.url}/v2/", timeout=10)  # the system CAs do not know the certificate
    assert requests.get(f"{distribution.url}/v2/", verify=str(distribution.cert), timeout=10).status_code == 401
    wrong = requests.get(f"{distribution.url}/v2/", verify=str(distribution.cert), auth=(distribution.user, "x"),
                         timeout=10)
    assert wrong.status_code == 401
    good = requests.get(f"{distribution.url}/v2/", verify=str(distribution.cert),
                        auth=(distribution.user, distribution.password), timeout=10)
    assert good.status_code == 200
    raw = distribution.raw("lib/app", "latest")
    assert raw == distribution.raw("lib/app", "v2s2")
    assert distribution.blob_data(sha256(raw)).read_bytes() == raw  # where the corruption test writes
    assert b"manifests" in distribution.raw("lib/multi", "latest")
