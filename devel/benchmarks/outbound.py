"""Getting an image out: skopeo pull from each server, and one raw blob GET against ``cat`` of the file."""

from __future__ import annotations

import shutil
import sys

from benchmarks import clients
from benchmarks.images import Image
from benchmarks.rig import Rig
from benchmarks.servers import SendfileServer
from benchmarks.timing import Sample, alternate, summary

TAG = "latest"


def measure(rig: Rig, image: Image, name: str, rounds: int) -> dict:
    """Both servers hold ``image`` as ``name:latest``. Alternates, per round: skopeo pull from ours, from
    the peer; curl GET of the big blob from ours, from the peer, from a bare sendfile server (the
    ceiling over loopback HTTP); ``cat`` of our stored blob file.

    The pulled dirs are checked byte for byte on the first round. curl writes the body to /dev/null and
    cat writes to /dev/null, so neither pays for a disk write; the stored files are read once before the
    first round so every contestant reads from the page cache.
    """
    print(f"out: {name}:{TAG}, {rounds} rounds", file=sys.stderr)
    hosts = {"ours": lambda: rig.ours.host, "peer": lambda: rig.peer.host}
    digests = {k: clients.skopeo_digest(h(), name, TAG) for k, h in hosts.items()}
    if set(digests.values()) != {image.manifest_digest}:
        raise SystemExit(f"the servers serve {digests}, expected {image.manifest_digest}")
    stored = rig.ours.blob_path(image.big_digest)
    for path in (stored, rig.peer.blob_path(image.big_digest)):
        clients.cat_to_null(path)

    def pull(key: str):
        def step(round_no: int) -> Sample:
            out = rig.work / f"pulled-{key}"
            server = rig.ours.process if key == "ours" else rig.peer.process
            sample = rig.timed(lambda: clients.skopeo_pull(hosts[key](), name, TAG, out), server)
            if round_no == 0:
                clients.same_image(out, image.dir)
            shutil.rmtree(out)
            return sample
        return step

    def get(key: str):
        def step(round_no: int) -> Sample:
            url = f"http://{hosts[key]()}/v2/{name}/blobs/{image.big_digest}"
            server = rig.ours.process if key == "ours" else rig.peer.process
            return rig.timed(lambda: clients.curl_get(url, image.big_size), server)
        return step

    def cat(round_no: int) -> Sample:
        return rig.timed(lambda: clients.cat_to_null(stored))

    with SendfileServer(stored) as ceiling:
        def get_sendfile(round_no: int) -> Sample:
            return rig.timed(lambda: clients.curl_get(ceiling.url, image.big_size))

        samples = alternate(rounds, {"pull_ours": pull("ours"), "pull_peer": pull("peer"), "get_ours": get("ours"),
                                     "get_peer": get("peer"), "get_sendfile": get_sendfile, "cat": cat}, title="out")
    result = summary(samples)
    result.update(image_blob_bytes=image.blob_bytes, big_blob_bytes=image.big_size, name=name)
    return result
