"""A bounded load test: 200 concurrent clients GET for 30 s on loopback; no request may fail.

The mix is what registry and REST clients read most: the status, a repository, a manifest by tag and
a blob. Latencies are reported (median and p99, printed with ``-s``), not asserted: the claim is
availability under load, zero errors, not speed (speed is ``devel/bench``'s).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path

import httpx
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
CLIENTS = 200
SECONDS = 30.0
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


async def _client(client: httpx.AsyncClient, urls: list[str], until: float, latencies: list[float],
                  errors: list[str], offset: int) -> None:
    turn = offset
    while time.monotonic() < until:
        url = urls[turn % len(urls)]
        turn += 1
        started = time.monotonic()
        try:
            reply = await client.get(url)
            await reply.aread()
            if reply.status_code != 200:
                errors.append(f"{url}: {reply.status_code} {reply.text[:200]}")
        except httpx.HTTPError as exc:
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
        latencies.append(time.monotonic() - started)


async def _load(base: str, urls: list[str], auth: tuple[str, str]) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, auth=auth, limits=limits, timeout=60, trust_env=False,
                                 headers={"Accept": MANIFEST_V2}) as client:
        until = time.monotonic() + SECONDS
        await asyncio.gather(*(_client(client, urls, until, latencies, errors, i) for i in range(CLIENTS)))
    return latencies, errors


@pytest.mark.slow
def test_200_concurrent_clients_for_30_seconds_get_no_errors(pulp_server, tmp_path) -> None:
    repo_id = f"load-{uuid.uuid4().hex[:8]}"
    pulp_server.create_repo(repo_id)
    upload_id = pulp_server.upload_file(DATA / "skopeo-v2s2.tar")
    task = pulp_server.import_upload(repo_id, upload_id, "docker_manifest", {}, {"tag": "1.0"})
    assert task["state"] == "finished", task
    facts = json.loads((DATA / "FACTS.json").read_text())["skopeo-v2s2.tar"]
    urls = ["/pulp/api/v2/status/", f"/pulp/api/v2/repositories/{repo_id}/",
            f"/v2/{repo_id}/manifests/1.0", f"/v2/{repo_id}/blobs/{facts['config']}",
            f"/v2/{repo_id}/blobs/{facts['layers'][0]}"]

    latencies, errors = asyncio.run(_load(pulp_server.url, urls, tuple(pulp_server.auth)))

    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(f"\n{len(latencies)} GETs by {CLIENTS} clients in {SECONDS:.0f} s: {len(errors)} errors, "
          f"median {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    assert len(latencies) > CLIENTS, "the clients did not get through a round each"
    assert errors == [], errors[:10]
    assert pulp_server.api("GET", "status/").json()["database_connection"]["connected"] is True
