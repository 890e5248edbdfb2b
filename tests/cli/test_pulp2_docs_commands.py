"""Every docker command line of Pulp 2's own docs, run verbatim against the real server.

The lines are those of pulp/pulp_docker 2-master ``docs/user-guide/recipes.rst`` (the only page of its
user guide with ``pulp-admin`` command lines), in the order the page gives them: 26 lines, 24 of them
different (``docker repo list`` appears three times). Only what names a thing on the user's machine
or server is substituted, word by word: repository ids, file names, the feed URL and upstream name
(``https://registry-1.docker.io``/``busybox`` become this server and a repository on it), the
registry name of the publish recipe, and the manifest digest the tag recipe points at.

Each line succeeds, or -- for what this server deliberately does not do -- fails with one clear
``error:`` line and the exit code given below: Docker v1 (``--enable-v1 true``, ``--mask-id``) and
the export distributor's tarball. docs/pulp-admin.md lists the same.

Steps the page takes for granted ("start with a synced busybox repository", a ``containers2``
repository in its ``repo list``) are done before the line that needs them, and said so in ``SETUP``.
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imagegen
from admin_runner import Admin
from tarballs import DATA

RECIPES = "pulp/pulp_docker 2-master docs/user-guide/recipes.rst"
DIGEST = json.loads((DATA / "FACTS.json").read_text())["skopeo-v2s2.tar"]["manifest_digest_of_file_bytes"]


@dataclass(frozen=True)
class Line:
    section: str  # the recipes.rst section the line is in
    text: str  # verbatim, as the page prints it after "$ "
    fails: tuple[int, str] | None = None  # (exit code, what the one error line says) when it must fail
    shows: tuple[str, ...] = ()  # what its output holds when it succeeds


PULP2_LINES = [
    Line("Sync", "pulp-admin docker repo create --repo-id=synctest --feed=https://registry-1.docker.io "
                 "--upstream-name=busybox", shows=("Repository [synctest] successfully created",)),
    Line("Sync", "pulp-admin docker repo sync run --repo-id synctest", shows=("Sync finished: 3 tags updated",)),
    Line("Sync", "pulp-admin docker repo create --repo-id=v1synctest --feed=https://index.docker.io "
                 "--upstream-name=busybox --enable-v1 true --enable-v2 false", fails=(65, "enable_v1")),
    Line("Sync", "pulp-admin docker repo sync run --repo-id v1synctest",
         fails=(65, "repository 'v1synctest' does not exist")),
    Line("Publish", "pulp-admin docker repo update --repo-id=synctest --repo-registry-id=pulpdemo/synctest",
         shows=("Repository [synctest] successfully updated",)),
    Line("Publish", "pulp-admin docker repo publish run --repo-id=synctest",
         shows=("Repository [synctest] successfully published",)),
    Line("Upload v1 Images to Pulp", "pulp-admin docker repo create --repo-id=busybox"),
    Line("Upload v1 Images to Pulp", "pulp-admin docker repo uploads upload --repo-id=busybox -f busybox.tar",
         shows=("Tag 1.0 -> sha256:",)),
    Line("Upload v1 Images to Pulp", "pulp-admin docker repo list", shows=("Docker Repositories", "Id:")),
    Line("Upload v1 Images to Pulp", "pulp-admin docker repo create --repo-id tutorial"),
    # The page breaks this one over three lines; the shell reads it as one.
    Line("Upload v1 Images to Pulp", "pulp-admin docker repo uploads upload --repo-id tutorial "
                                     "-f /home/skarmark/git/pulp1/pulp/tutorial.tar "
                                     "--mask-id 'f38e479062c4953de709cc7f08fa8f85bec6bc5d01f03e340f7caf2990e8efd1'",
         fails=(65, "--mask-id skips the ancestors of a Docker v1 image")),
    Line("Upload v1 Images to Pulp", "pulp-admin docker repo list", shows=("Docker Repositories",)),
    Line("v1 Export", "pulp-admin docker repo export run --repo-id=busybox",
         fails=(1, "docker_distributor_export cannot export yet")),
    Line("Upload v2 schema 2 Images to Pulp", "pulp-admin docker repo create --repo-id=skopeo"),
    Line("Upload v2 schema 2 Images to Pulp", "pulp-admin docker repo uploads upload --repo-id=skopeo -f skopeo.tar",
         shows=(f"Manifest {DIGEST} imported",)),
    Line("Uploading a Manifest List", "pulp-admin docker repo sync run --repo-id busybox"),
    Line("Uploading a Manifest List", "pulp-admin docker repo uploads upload --repo-id=busybox --manifest-list "
                                      "-f your_manifest_list.json", shows=("Manifest list sha256:",)),
    Line("Tagging a Manifest", "pulp-admin docker repo search tag --repo-id man-list --str-eq='name=uclibc'",
         shows=("uclibc",)),
    Line("Tagging a Manifest", "pulp-admin docker repo tag --repo-id busybox --tag-name latest --digest "
                               "sha256:c152ddeda2b828fbb610cb9e4cb121e1879dd5301d336f0a6c070b2844a0f56d",
         shows=(f"Tag latest -> {DIGEST}",)),
    Line("Tagging a Manifest", "pulp-admin docker repo tag --repo-id busybox --tag-name 1.2 --digest "
                               "sha256:c152ddeda2b828fbb610cb9e4cb121e1879dd5301d336f0a6c070b2844a0f56d",
         shows=(f"Tag 1.2 -> {DIGEST}",)),
    Line("Copy", "pulp-admin docker repo list", shows=("Docker Repositories",)),
    Line("Copy", "pulp-admin docker repo copy manifest --from-repo-id containers --to-repo-id containers2",
         shows=("Copied:", f"  {DIGEST}")),
    Line("Copy", "pulp-admin docker repo copy", shows=("content copy commands", "manifest-list", "tag")),
    Line("Remove", "pulp-admin docker repo remove tag --repo-id containers --str-eq=name=latest",
         shows=("Units Removed:\n  latest",)),
    Line("Remove", "pulp-admin docker repo remove tag --repo-id containers --str-eq=name=glibc "
                   "--str-eq='manifest_type=list'", shows=("Units Removed:\n  glibc",)),
    Line("Remove", "pulp-admin docker repo remove", shows=("content removal commands",)),
]

# Done before the line at this index, as the page assumes (not lines of the page): why, and the command.
SETUP = {
    15: ("'start with a synced busybox repository': the busybox repository gets a feed",
         "docker repo update --repo-id busybox --feed FEED --upstream-name UPSTREAM"),
    21: ("the page's repo list shows an empty containers2 repository", "docker repo create --repo-id containers2"),
}


def _substitute(text: str, names: dict[str, str]) -> str:
    """Replace whole words only: ``busybox`` but not the ``busybox`` inside ``busybox.tar``."""
    for old, new in names.items():
        text = re.sub(rf"(?<![\w./-]){re.escape(old)}(?![\w./-])", new, text)
    return text


def _upstream(admin: Admin, tmp_path: Path) -> tuple[str, Path]:
    """A repository on this server to sync from: tags latest and uclibc (an image), glibc (a manifest list);
    and that list as a JSON file."""
    name = f"up-{uuid.uuid4().hex[:8]}"
    admin.ok("docker", "repo", "create", "--repo-id", name)
    admin.ok("docker", "repo", "uploads", "upload", "--repo-id", name, "-f", str(DATA / "skopeo-v2s2.tar"),
             "--tag", "latest")
    admin.ok("docker", "repo", "tag", "--repo-id", name, "--tag-name", "uclibc", "--digest", DIGEST)
    multi = tmp_path / "multi"
    imagegen.make_image(multi, 16 * 1024, platforms=["linux/amd64", "linux/arm64"], seed=11)
    admin.ok("docker", "repo", "uploads", "upload", "--repo-id", name, "-f",
             str(imagegen.tar_dir(multi, tmp_path / "multi.tar")), "--tag", "glibc")
    listing = tmp_path / "your_manifest_list.json"
    listing.write_bytes((multi / "manifest.json").read_bytes())
    return name, listing


def test_every_pulp2_docs_command_line_runs_verbatim(admin: Admin, docker_server: Any, tmp_path: Path) -> None:
    upstream, listing = _upstream(admin, tmp_path)
    suffix = uuid.uuid4().hex[:6]
    ids = {name: f"{name}-{suffix}" for name in ("synctest", "v1synctest", "busybox", "tutorial", "skopeo")}
    names = {
        **ids,
        "man-list": ids["busybox"], "containers": ids["busybox"], "containers2": f"containers2-{suffix}",
        "https://registry-1.docker.io": docker_server.url, "https://index.docker.io": docker_server.url,
        "--upstream-name=busybox": f"--upstream-name={upstream}", "pulpdemo/synctest": f"pulpdemo/synctest-{suffix}",
        "busybox.tar": str(DATA / "docker-archive.tar"), "skopeo.tar": str(DATA / "skopeo-v2s2.tar"),
        "/home/skarmark/git/pulp1/pulp/tutorial.tar": str(DATA / "docker-archive.tar"),
        "your_manifest_list.json": str(listing),
        "sha256:c152ddeda2b828fbb610cb9e4cb121e1879dd5301d336f0a6c070b2844a0f56d": DIGEST,
    }
    assert len(PULP2_LINES) == 26 and len({line.text for line in PULP2_LINES}) == 24
    outcomes = []
    for index, line in enumerate(PULP2_LINES):
        if index in SETUP:
            setup = SETUP[index][1].replace("FEED", docker_server.url).replace("UPSTREAM", upstream)
            admin.ok(*shlex.split(_substitute(setup, names)))
        # The flag must go first so that the bare word is not replaced before it.
        text = _substitute(line.text.replace("--upstream-name=busybox", names["--upstream-name=busybox"]), names)
        argv = shlex.split(text)
        assert argv[0] == "pulp-admin"
        expected = line.fails
        if expected is not None:
            code, says = expected
            admin.fails(*argv[1:], code=code, says=_substitute(says, ids))
            outcomes.append((line.section, line.text, "fails"))
            continue
        out = admin.ok(*argv[1:])
        for shown in line.shows:
            assert _substitute(shown, ids) in out, f"{line.text}\n{out}"
        outcomes.append((line.section, line.text, "ok"))
    failing = [text for _section, text, outcome in outcomes if outcome == "fails"]
    assert len(failing) == 4, failing  # v1 sync (create and its sync), --mask-id, export
