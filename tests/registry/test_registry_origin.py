"""The registry's writes refuse a browser's cross-site request (docs/security.md): a web page of another
origin could otherwise start blob uploads or delete tags with a visitor's cached credentials."""

from __future__ import annotations

import requests

AUTH = ("admin", "admin")


def test_a_cross_site_write_is_denied_and_a_same_origin_one_is_not(pulp_server):
    base = f"{pulp_server.url}/v2/origin/app/blobs/uploads/"
    foreign = requests.post(base, auth=AUTH, headers={"Origin": "https://evil.example"}, timeout=30)
    assert foreign.status_code == 403, foreign.text
    assert foreign.json()["errors"][0]["code"] == "DENIED"
    deleted = requests.delete(f"{pulp_server.url}/v2/origin/app/manifests/latest", auth=AUTH,
                              headers={"Origin": "null"}, timeout=30)
    assert deleted.status_code == 403, deleted.text
    same = requests.post(base, auth=AUTH, headers={"Origin": pulp_server.url}, timeout=30)
    assert same.status_code == 202, same.text
    plain = requests.post(base, auth=AUTH, timeout=30)  # no Origin: docker, skopeo, podman
    assert plain.status_code == 202, plain.text
    pulled = requests.get(f"{pulp_server.url}/v2/", headers={"Origin": "https://evil.example"}, timeout=30)
    assert pulled.status_code in (200, 401), pulled.text  # reads are not writes
