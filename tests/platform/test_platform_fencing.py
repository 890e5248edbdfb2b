"""Fencing: a task declared failed, or whose reservation was released, cannot commit; what it wrote is undone.

The first tests drive the conduit, reservations and journal in-process against a real (embedded)
database; the last one a real server whose worker a task stalls past the worker timeout.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pymongo
import pytest
from platform_helpers import unique, units
from plugins_for_tests import fileplugin

from pulp_docker.common import constants
from pulp_docker.plugins.models import Tag
from pulp_platform.models.content import RepositoryContentUnit
from pulp_platform.models.journal import TaskJournal
from pulp_platform.models.task import ERROR, RUNNING, TaskStatus, next_sequence
from pulp_platform.plugin_api import Conduit
from pulp_platform.storage import ContentStore
from pulp_platform.tasking import journal, reservations
from pulp_platform.tasking.fencing import ReservationLost, TaskOwner


def _running_task(repo_id: str) -> TaskOwner:
    """A task in the ``running`` state holding ``repository:<repo_id>``, as the runner leaves one."""
    task_id, resource = str(uuid.uuid4()), reservations.repository_resource(repo_id)
    sequence = next_sequence()
    TaskStatus._get_collection().insert_one({"_id": task_id, "operation": "x:y", "resource": resource,
                                             "sequence": sequence, "state": RUNNING, "worker_name": "w"})
    token = reservations.acquire(resource, task_id, sequence, "w")
    assert token
    TaskStatus._get_collection().update_one({"_id": task_id}, {"$set": {"reservation_token": token}})
    return TaskOwner(task_id, token, resource, "w")


def _end(owner: TaskOwner, state: str = ERROR) -> None:
    """What the reaper does to a task it declares dead: fail it, then free its lock."""
    TaskStatus._get_collection().update_one({"_id": owner.task_id}, {"$set": {"state": state}})
    reservations.release(owner.resource, owner.task_id)


def _conduit(repo_id: str, owner: TaskOwner | None, tmp_path: Path) -> Conduit:
    return Conduit(repo_id, ContentStore(tmp_path / "content"), owner=owner)


def _file(name: str) -> fileplugin.TestFile:
    return fileplugin.TestFile(name=name, size=1, digest="sha256:" + "0" * 64)


def _held(repo_id: str) -> set[str]:
    rows = RepositoryContentUnit._get_collection().find({"repo_id": repo_id}, {"unit_id": 1})
    return {row["unit_id"] for row in rows}


def test_each_reservation_has_its_own_token(database: None) -> None:
    resource = f"repository:{unique()}"
    first = reservations.acquire(resource, "t1", next_sequence(), "w")
    assert first and reservations.acquire(resource, "t1", next_sequence(), "w") == first  # a duplicate message
    assert reservations.acquire(resource, "t2", next_sequence(), "w") is None
    reservations.release(resource, "t1", token="not-the-token")
    assert reservations.acquire(resource, "t2", next_sequence(), "w") is None
    reservations.release(resource, "t1", token=first)
    second = reservations.acquire(resource, "t2", next_sequence(), "w")
    assert second and second != first


def test_a_task_declared_dead_may_not_write_and_its_journal_undoes_what_it_did(database: None,
                                                                               tmp_path: Path) -> None:
    repo_id = unique()
    owner = _running_task(repo_id)
    conduit = _conduit(repo_id, owner, tmp_path)
    early, _ = conduit.save_unit(_file(unique("early")))
    assert conduit.associate(early)
    assert _held(repo_id) == {early.id}
    journaled = TaskJournal._get_collection().find_one({"_id": owner.task_id})
    assert [row["unit_id"] for row in journaled["associations"]] == [early.id]

    _end(owner)
    late, _ = conduit.save_unit(_file(unique("late")))  # a new unit is not visible: allowed
    with pytest.raises(ReservationLost):
        conduit.associate(late)
    with pytest.raises(ReservationLost):
        conduit.unassociate(early)
    with pytest.raises(ReservationLost):
        conduit.update_counts(added=True)
    assert _held(repo_id) == {early.id}
    assert TaskStatus._get_collection().find_one({"_id": owner.task_id})["fenced_at"]

    assert journal.roll_back(owner.task_id) == {repo_id}
    assert _held(repo_id) == set()
    assert TaskJournal._get_collection().find_one({"_id": owner.task_id}) is None


def test_a_batch_is_fenced_journaled_and_rolled_back_as_its_units_one_by_one(database: None,
                                                                            tmp_path: Path) -> None:
    repo_id = unique()
    held_before, *new = (_conduit(repo_id, None, tmp_path).save_unit(_file(unique()))[0] for _ in range(3))
    _conduit(repo_id, None, tmp_path).associate(held_before)
    owner = _running_task(repo_id)
    conduit = _conduit(repo_id, owner, tmp_path)
    assert conduit.associate_all([new[0], held_before, new[1], new[0]]) == [True, False, True, False]
    assert conduit.associate_all([]) == []
    assert _held(repo_id) == {held_before.id, new[0].id, new[1].id}
    journaled = TaskJournal._get_collection().find_one({"_id": owner.task_id})
    assert [row["unit_id"] for row in journaled["associations"]] == [new[0].id, held_before.id, new[1].id, new[0].id]
    rows = {row["unit_id"]: row for row in RepositoryContentUnit._get_collection().find({"repo_id": repo_id})}
    assert rows[new[1].id]["created_by"] == owner.task_id and "created_by" not in rows[held_before.id]

    _end(owner)
    late, _ = conduit.save_unit(_file(unique("late")))
    with pytest.raises(ReservationLost):
        conduit.associate_all([late])
    assert journal.roll_back(owner.task_id) == {repo_id}
    assert _held(repo_id) == {held_before.id}


def test_a_closed_journal_refuses_more_intents(database: None, tmp_path: Path) -> None:
    repo_id = unique()
    owner = _running_task(repo_id)
    conduit = _conduit(repo_id, owner, tmp_path)
    first, _ = conduit.save_unit(_file(unique()))
    conduit.associate(first)
    TaskJournal._get_collection().update_one({"_id": owner.task_id}, {"$set": {"closed": True}})
    second, _ = conduit.save_unit(_file(unique()))
    with pytest.raises(ReservationLost):
        conduit.associate(second)
    assert _held(repo_id) == {first.id}


def test_a_rollback_leaves_what_was_there_before_and_what_a_successor_claimed(database: None,
                                                                              tmp_path: Path) -> None:
    repo_id = unique()
    before, claimed, own = (_conduit(repo_id, None, tmp_path).save_unit(_file(unique()))[0] for _ in range(3))
    _conduit(repo_id, None, tmp_path).associate(before)  # held before the dead task ran

    dead = _running_task(repo_id)
    conduit = _conduit(repo_id, dead, tmp_path)
    assert not conduit.associate(before)
    assert conduit.associate(claimed) and conduit.associate(own)
    _end(dead)

    successor = _running_task(repo_id)
    assert not _conduit(repo_id, successor, tmp_path).associate(claimed)  # it relies on it now

    assert journal.roll_back(dead.task_id) == {repo_id}
    assert _held(repo_id) == {before.id, claimed.id}
    assert journal.roll_back(dead.task_id) == set()  # a second rollback finds nothing to do


def _tag(repo_id: str, name: str, digest: str) -> Tag:
    return Tag(name=name, repo_id=repo_id, schema_version=2, manifest_type=constants.MANIFEST_TYPE_IMAGE,
               manifest_digest=digest)


def _points_at(repo_id: str, name: str) -> str:
    return Tag.objects(repo_id=repo_id, name=name).first().manifest_digest


def test_a_rollback_moves_a_tag_back_unless_another_task_moved_it_since(database: None, tmp_path: Path) -> None:
    repo_id = unique()
    digest_a, digest_b, digest_c = (f"sha256:{c * 64}" for c in "abc")
    _conduit(repo_id, None, tmp_path).save_unit(_tag(repo_id, "latest", digest_a), update=True)
    _conduit(repo_id, None, tmp_path).save_unit(_tag(repo_id, "stable", digest_a), update=True)

    dead = _running_task(repo_id)
    conduit = _conduit(repo_id, dead, tmp_path)
    conduit.save_unit(_tag(repo_id, "latest", digest_b), update=True)
    conduit.save_unit(_tag(repo_id, "stable", digest_b), update=True)
    assert _points_at(repo_id, "latest") == _points_at(repo_id, "stable") == digest_b
    _end(dead)

    successor = _running_task(repo_id)
    _conduit(repo_id, successor, tmp_path).save_unit(_tag(repo_id, "stable", digest_c), update=True)

    journal.roll_back(dead.task_id)
    assert _points_at(repo_id, "latest") == digest_a
    assert _points_at(repo_id, "stable") == digest_c


def test_a_task_that_outlives_the_worker_timeout_cannot_commit(start_pulp_server, tmp_path: Path) -> None:
    """The worker stalls (a C call holding the GIL: its heartbeat stops too), the API's reaper declares
    it dead (PLP0049) and frees the repository; when the task wakes its commit is refused and what it
    had associated is undone, while the next task on the repository runs normally."""
    server = start_pulp_server(workers=0, worker_timeout=2)
    server.start_worker(name="stalling@test")
    _wait(lambda: any(w["name"] == "stalling@test" for w in server.api("GET", "status/").json()["known_workers"]),
          "the worker's first heartbeat")
    repo_id = unique()
    server.create_repo(repo_id, importer_type_id="test_importer", distributors=[])
    (tmp_path / "f").write_text("stalled")
    upload_id = server.upload_file(tmp_path / "f")

    def queue(name: str, **metadata: object) -> str:
        response = server.api("POST", f"repositories/{repo_id}/actions/import_upload/", json={
            "upload_id": upload_id, "unit_type_id": "test_file", "unit_key": {"name": name},
            "unit_metadata": metadata})
        assert response.status_code == 202, response.text
        return response.json()["spawned_tasks"][0]["task_id"]

    stalled = queue("stalled", hold_gil=10)
    task = server.wait_task(stalled, timeout=60)
    assert task["state"] == "error" and task["error"]["code"] == "PLP0049", task
    assert task["progress_report"] == {"test": {"holding_gil": True}}
    # Declared dead while it still stalls: what it associated is visible until it wakes and undoes it.
    assert [u["metadata"]["name"] for u in units(server, repo_id)] == ["stalled"]
    follower = queue("next")

    client = pymongo.MongoClient(server.mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        tasks = client.get_default_database()["task_status"]
        _wait(lambda: tasks.find_one({"_id": stalled, "fenced_at": {"$exists": True}}), "the late commit's refusal")
        # The refusal is marked first, then the journal is rolled back and dropped.
        journals = client.get_default_database()["task_journals"]
        _wait(lambda: journals.find_one({"_id": stalled}) is None, "the refused task's rollback")
    finally:
        client.close()
    assert server.wait_task(follower, timeout=60)["state"] == "finished"
    after = server.api("GET", f"tasks/{stalled}/").json()
    assert after["state"] == "error" and after["error"]["code"] == "PLP0049"
    assert [u["metadata"]["name"] for u in units(server, repo_id)] == ["next"]
    repo = server.api("GET", f"repositories/{repo_id}/").json()
    assert repo["content_unit_counts"] == {"test_file": 1}


def _wait(predicate, what: str, timeout: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
