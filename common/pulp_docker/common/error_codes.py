"""The docker plugin's error catalogue (Pulp 2's DKR codes, and ours from DKR1030 on).

``DockerError`` carries ``code``, ``description`` and ``data``, which is all the platform needs to
render a Pulp-style error body; this module imports nothing from the platform.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Error(NamedTuple):
    code: str
    message: str


DKR1010 = Error("DKR1010", "Manifest with digest {digest} could not be found in repository {repo_id}.")
DKR1017 = Error("DKR1017", "Checksum {checksum} does not validate for {member}: its content hashes to {actual}.")
DKR1018 = Error("DKR1018", "Layer {layer} is not present in the image nor in repository {repo_id}.")
DKR1019 = Error("DKR1019", "Tag does not contain required field: {field}.")
DKR1030 = Error("DKR1030", "The uploaded file is not a readable tar archive: {reason}.")
DKR1031 = Error("DKR1031", "Unsafe tar member {member}: {reason}.")
DKR1032 = Error("DKR1032", "The uploaded tarball holds a {kind}, which this server does not import: {reason}.")
DKR1033 = Error("DKR1033", "The uploaded tarball is not an image this server recognises: {reason}.")
DKR1034 = Error("DKR1034", "Invalid manifest {member}: {reason}.")
DKR1035 = Error("DKR1035", "Unsupported media type {media_type} in {member}.")
DKR1036 = Error("DKR1036", "{member} is {size} bytes, not the {expected} bytes the manifest declares for {digest}.")
DKR1037 = Error("DKR1037", "Manifest {digest} listed in the manifest list is not present in the image "
                "nor in repository {repo_id}.")
DKR1038 = Error("DKR1038", "Unsupported unit type {type_id} for upload.")
DKR1039 = Error("DKR1039", "Invalid tag name {name}: it must match [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}.")
DKR1041 = Error("DKR1041", "A tag was given, but the upload holds {count} images and no single top one "
                "({digests}); upload without a tag to apply the names the archive carries.")
DKR1042 = Error("DKR1042", "Manifest {member} is {size} bytes with digest {actual}, not the {expected_size} bytes "
                "with digest {digest} that {where} claims.")
DKR1043 = Error("DKR1043", "Sync from {upstream} failed: {reason}")
DKR1044 = Error("DKR1044", "Sync from {upstream}: {count} of its images could not be imported: {summary}")
DKR1040 = Error("DKR1040", "The import found {count} problems: {summary}")
DKR1045 = Error("DKR1045", "The uploaded tarball exceeds the limits of an import: {reason}.")


class DockerError(Exception):
    """A coded docker error; ``sub_errors`` holds the individual problems when several were found."""

    def __init__(self, error: Error, sub_errors: list[DockerError] | None = None, **data: Any) -> None:
        self.error = error
        self.data = data
        self.sub_errors = sub_errors or []
        super().__init__(self.description)

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def description(self) -> str:
        return self.error.message.format(**self.data)


def combine(problems: list[DockerError]) -> DockerError:
    """One error for a list of problems: the problem itself when alone, else DKR1040 listing them all."""
    if len(problems) == 1:
        return problems[0]
    summary = "; ".join(p.description for p in problems)
    return DockerError(DKR1040, sub_errors=problems, count=len(problems), summary=summary)
