"""``docker repo uploads upload|list|resume|cancel``: image tarballs, manifests and skopeo directories.

An upload is sent as ``docker_manifest``; the server decides from the content what it holds (a skopeo
dir, docker-archive or OCI layout tarball, plain or compressed, or a manifest list as JSON).
``--tag NAME`` travels in ``unit_metadata`` as ``{"tag": NAME}``; without it the names the archive
carries become tags.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from pulp_admin_client import tasks, uploads
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode
from pulp_admin_client.output import emit_json, human_size, print_documents
from pulp_admin_client.upload_source import FileSource, Source, open_source
from pulp_admin_client.upload_state import UploadRecord
from pulp_docker.common import constants
from pulp_docker.extensions.admin import archive_check
from pulp_docker.extensions.admin.options import json_option, repo_id_option

RESUME_COMMAND = "pulp-admin docker repo uploads resume"
TARBALL_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tzst")


def sources_in_dir(directory: Path) -> list[Path]:
    """What ``-d DIR`` uploads: DIR itself when it is an image directory, else the tarballs and image
    directories directly inside it."""
    if (directory / "manifest.json").is_file():
        return [directory]
    if not directory.is_dir():
        raise ClientError(f"{directory} is not a directory", ExitCode.DATA)
    found = sorted(p for p in directory.iterdir()
                   if (p.is_file() and p.name.endswith(TARBALL_SUFFIXES))
                   or (p.is_dir() and (p / "manifest.json").is_file()))
    if not found:
        raise ClientError(f"no image tarballs ({', '.join('*' + s for s in TARBALL_SUFFIXES)}) or image "
                          f"directories in {directory}", ExitCode.DATA)
    return found


def outcome_json(outcome: uploads.UploadOutcome) -> dict[str, Any]:
    """One upload's result for scripts."""
    record = outcome.record
    task = outcome.task or {"task_id": record.task_id, "state": "background"}  # --bg: the import goes on
    details = (task.get("result") or {}).get("details") or {}
    unit = details.get("unit") or {}
    return {
        "file": record.path or None,
        "repo_id": record.repo_id,
        "upload_id": record.upload_id,
        "size": record.size,
        "resumed_from": outcome.resumed_from,
        "bytes_sent": outcome.bytes_sent,
        "task_id": task.get("task_id"),
        "state": task.get("state"),
        "unit": unit or None,
        "manifest_digest": (unit.get("unit_key") or {}).get("digest"),
        "kind": details.get("kind"),
        "images": details.get("images"),
        "manifests": details.get("manifests"),
        "blobs_imported": details.get("blobs_imported"),
        "blobs_present": details.get("blobs_present"),
        "tag": details.get("tag"),
        "tags": details.get("tags"),
    }


def print_outcome(outcome: uploads.UploadOutcome, verbose: bool) -> None:
    """The outcome in a few lines a person reads: manifest, blobs, tag."""
    result = outcome_json(outcome)
    unit = result["unit"] or {}
    images = result["images"] or [{"digest": result["manifest_digest"], "type_id": unit.get("type_id")}]
    for image in images:
        kind = {constants.MANIFEST_LIST_TYPE_ID: "Manifest list"}.get(image.get("type_id"), "Manifest")
        click.echo(f"{kind} {image.get('digest') or '(unknown)'} imported into repository {result['repo_id']}")
    imported, present = result["blobs_imported"], result["blobs_present"]
    if imported is not None or present is not None:
        click.echo(f"Blobs imported: {len(imported or [])}, already present: {len(present or [])}")
        if verbose:
            for digest in imported or []:
                click.echo(f"  imported {digest}")
            for digest in present or []:
                click.echo(f"  present  {digest}")
    for tag in result["tags"] or ([result["tag"]] if result["tag"] else []):
        click.echo(f"Tag {tag.get('name')} -> {tag.get('manifest_digest')}")


def _progress_wanted(as_json: bool) -> bool:
    return not as_json


@click.group("uploads", help="Upload images into a docker repository, and manage interrupted uploads.")
def uploads_group() -> None:
    pass


@uploads_group.command("upload", help="Upload images into a repository: docker save, podman save, oci-archive, "
                                      "tarred skopeo dir: or oci: (plain, gzip, bzip2, xz or zstd), a skopeo dir "
                                      "itself, or a manifest list as JSON.")
@repo_id_option
@click.option("-f", "--file", "files", multiple=True, type=click.Path(),
              help="Image tarball of any kind, a manifest list JSON file, or a skopeo dir itself; repeatable.")
@click.option("-d", "--dir", "dirs", multiple=True, type=click.Path(),
              help="A directory of image tarballs/directories, or one image directory; repeatable.")
@click.option("--tag", "tag_name", help="Tag the uploaded image with this name (created or moved); without it, "
                                        "the names the archive carries become tags.")
@click.option("--manifest-list", is_flag=True, help="Each file is a manifest list as JSON (Pulp 2's flag; the "
                                                    "server tells from the content either way).")
@click.option("--mask-id", "-m", help="Docker v1 only: an ancestor image to skip (not supported: this server "
                                      "takes no v1 images).")
@click.option("-v", "--verbose", is_flag=True, help="Print each step and every blob digest.")
@tasks.background_option
@json_option
@click.pass_obj
def upload(ctx: ClientContext, repo_id: str, files: tuple[str, ...], dirs: tuple[str, ...], tag_name: str | None,
           manifest_list: bool, mask_id: str | None, verbose: bool, background: bool, as_json: bool) -> None:
    if mask_id is not None:
        raise ClientError("--mask-id skips the ancestors of a Docker v1 image, and this server takes no v1 images; "
                          "upload without it", ExitCode.DATA)
    paths = [Path(f) for f in files]
    for directory in dirs:
        paths.extend(sources_in_dir(Path(directory).expanduser()))
    if not paths:
        raise ClientError("nothing to upload: give -f FILE or -d DIR", ExitCode.USAGE)
    if tag_name is not None and len(paths) > 1:
        raise ClientError("--tag names one image; upload one FILE with it", ExitCode.USAGE)
    if tag_name is not None and not tag_name.strip():
        raise ClientError("--tag needs a name", ExitCode.USAGE)
    sources: list[Source] = [open_source(p) for p in paths]  # every path is checked before anything is sent
    uploads.check_repository(ctx, repo_id)
    for source in sources:
        if isinstance(source, FileSource):
            archive_check.check(source.path, manifest_list=manifest_list)
    metadata = {constants.UPLOAD_TAG_KEY: tag_name} if tag_name else {}
    results: list[dict[str, Any]] = []
    try:
        for source in sources:
            if verbose and not as_json:
                what = "directory, tarred on the fly" if source.kind == "directory" else "file"
                click.echo(f"Uploading {source.path} ({what}, {human_size(source.size)}) to repository {repo_id}")
            try:
                outcome = uploads.upload(ctx, repo_id, source, constants.MANIFEST_TYPE_ID, {}, metadata,
                                         show_progress=_progress_wanted(as_json), resume_hint=RESUME_COMMAND,
                                         background=background)
            except ClientError as exc:
                results.append({"file": str(source.path), "repo_id": repo_id, "state": "error", "error": exc.message})
                raise
            if as_json:
                results.append(outcome_json(outcome))
            elif outcome.task is not None:
                if verbose:
                    click.echo(f"Upload {outcome.record.upload_id} imported by task {outcome.task.get('task_id')} "
                               "and deleted")
                print_outcome(outcome, verbose)
    finally:
        # Scripts get the images that did go in even when a later one fails (the exit code says it did).
        if as_json:
            emit_json(results)


def _docker_records(ctx: ClientContext) -> list[UploadRecord]:
    return [r for r in uploads.records(ctx).all() if r.unit_type_id.startswith("docker_")]


def _record_json(ctx: ClientContext, record: UploadRecord) -> dict[str, Any]:
    try:
        on_server: int | None = uploads.server_size(ctx, record.upload_id) if record.task_id is None else record.size
        reachable = True
    except ClientError:
        on_server, reachable = None, False
    return {
        "upload_id": record.upload_id,
        "repo_id": record.repo_id,
        "file": record.path or None,
        "kind": record.kind,
        "size": record.size,
        "server_size": on_server,
        "server_has_upload": reachable,
        "unit_type_id": record.unit_type_id,
        "tag": record.unit_metadata.get(constants.UPLOAD_TAG_KEY) or record.unit_metadata.get("name"),
        "task_id": record.task_id,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created)),
    }


@uploads_group.command("list", help="List uploads that were interrupted and can be resumed.")
@json_option
@click.pass_obj
def list_uploads(ctx: ClientContext, as_json: bool) -> None:
    found = [_record_json(ctx, r) for r in _docker_records(ctx)]
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo("No uploads in progress")
        return
    shown = []
    for item in found:
        size = item["server_size"]
        progress = ("unknown (server unreachable or upload gone)" if size is None
                    else f"{human_size(size)} of {human_size(item['size'])}")
        shown.append({"upload_id": item["upload_id"], "repo_id": item["repo_id"], "file": item["file"],
                      "on_server": progress, "tag": item["tag"], "started": item["started"]})
    print_documents("Uploads In Progress", shown)


def _chosen(ctx: ClientContext, upload_ids: tuple[str, ...], all_uploads: bool, verb: str) -> list[UploadRecord]:
    store = uploads.records(ctx)
    if upload_ids:
        return [store.get(upload_id) for upload_id in upload_ids]
    found = _docker_records(ctx)
    if all_uploads or len(found) <= 1:
        return found
    if not sys.stdin.isatty():
        ids = ", ".join(r.upload_id for r in found)
        raise ClientError(f"{len(found)} uploads in progress ({ids}); choose with --upload-id or use --all",
                          ExitCode.USAGE)
    for number, record in enumerate(found, 1):
        click.echo(f"  {number}: {record.upload_id}  {record.path or '(no file)'} -> {record.repo_id}")
    choice = click.prompt(f"Upload to {verb}", type=click.IntRange(1, len(found)))
    return [found[choice - 1]]


@uploads_group.command("resume", help="Resume interrupted uploads, sending only what the server lacks.")
@click.option("--upload-id", "upload_ids", multiple=True, help="The upload to resume; repeatable.")
@click.option("--all", "all_uploads", is_flag=True, help="Resume every upload in progress.")
@click.option("-v", "--verbose", is_flag=True, help="Print each step and every blob digest.")
@json_option
@click.pass_obj
def resume(ctx: ClientContext, upload_ids: tuple[str, ...], all_uploads: bool, verbose: bool,
           as_json: bool) -> None:
    chosen = _chosen(ctx, upload_ids, all_uploads, "resume")
    if not chosen and not as_json:
        click.echo("No uploads to resume")
    results = []
    for record in chosen:
        outcome = uploads.resume(ctx, record, show_progress=_progress_wanted(as_json), resume_hint=RESUME_COMMAND)
        if as_json:
            results.append(outcome_json(outcome))
            continue
        if verbose or outcome.resumed_from:
            click.echo(f"Upload {record.upload_id} resumed at {human_size(outcome.resumed_from)}: sent "
                       f"{human_size(outcome.bytes_sent)}")
        if record.unit_type_id == constants.TAG_TYPE_ID:
            tag = ((outcome.task.get("result") or {}).get("details") or {}).get("tag") or record.unit_metadata
            click.echo(f"Tag {tag.get('name')} -> {tag.get('manifest_digest')}")
        else:
            print_outcome(outcome, verbose)
    if as_json:
        emit_json(results)


@uploads_group.command("cancel", help="Cancel interrupted uploads, deleting what the server holds of them.")
@click.option("--upload-id", "upload_ids", multiple=True, help="The upload to cancel; repeatable.")
@click.option("--all", "all_uploads", is_flag=True, help="Cancel every upload in progress.")
@click.pass_obj
def cancel(ctx: ClientContext, upload_ids: tuple[str, ...], all_uploads: bool) -> None:
    chosen = _chosen(ctx, upload_ids, all_uploads, "cancel")
    if not chosen:
        click.echo("No uploads to cancel")
    for record in chosen:
        uploads.delete(ctx, record)
        click.echo(f"Upload {record.upload_id} canceled")
