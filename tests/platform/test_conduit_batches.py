"""The conduit's batch reads and writes against a real (embedded) database: ``save_units``, a ``units``
filter that matches nothing, ``unit_ids_by_type``.

Each replaces a round trip per unit by one per batch; these tests hold that they answer what the
one-by-one calls answered, also when two tasks save the same new keys at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

from platform_helpers import unique
from plugins_for_tests import fileplugin

from pulp_docker.common import constants
from pulp_docker.plugins.models import Tag
from pulp_platform.plugin_api import Conduit
from pulp_platform.storage import ContentStore

DIGEST = "sha256:" + "0" * 64


def _conduit(repo_id: str, tmp_path: Path) -> Conduit:
    return Conduit(repo_id, ContentStore(tmp_path / "content"))


def _file(name: str, size: int = 1) -> fileplugin.TestFile:
    return fileplugin.TestFile(name=name, size=size, digest=DIGEST)


def _tag(repo_id: str, name: str) -> Tag:
    return Tag(name=name, repo_id=repo_id, schema_version=2, manifest_type=constants.MANIFEST_TYPE_IMAGE,
               manifest_digest=DIGEST)


def test_save_units_keeps_existing_units_and_answers_in_the_order_given(database: None, tmp_path: Path) -> None:
    conduit = _conduit(unique(), tmp_path)
    old, _ = conduit.save_unit(_file(unique("old"), size=7))
    names = [unique("a"), old.name, unique("b")]
    batch = [_file(names[0]), _file(old.name, size=99), _file(names[2])]

    saved = conduit.save_units(batch)

    assert [unit.name for unit in saved] == names
    assert saved[1].id == old.id and saved[1].size == 7  # not overwritten: save_unit without update
    assert saved[0].id == batch[0].id and saved[2].id == batch[2].id  # new: stored as given
    again = conduit.save_units([_file(name) for name in names])
    assert [unit.id for unit in again] == [unit.id for unit in saved]
    assert fileplugin.TestFile.objects(name__in=names).count() == 3


def test_save_units_of_several_models_and_of_one_unit(database: None, tmp_path: Path) -> None:
    repo_id = unique()
    conduit = _conduit(repo_id, tmp_path)
    batch = [_tag(repo_id, "one"), _file(unique()), _tag(repo_id, "two"), _file(unique())]
    saved = conduit.save_units(batch)
    assert [type(unit) for unit in saved] == [Tag, fileplugin.TestFile, Tag, fileplugin.TestFile]
    assert [unit.id for unit in saved] == [unit.id for unit in batch]
    # A Tag's key has four fields: found again by all of them, not by its name alone.
    other = _conduit(unique(), tmp_path).save_units([_tag(conduit.repo_id, "one"), _tag(unique(), "one")])
    assert other[0].id == saved[0].id and other[1].id != saved[0].id
    assert conduit.save_units([_file(saved[1].name)])[0].id == saved[1].id
    assert conduit.save_units([]) == []


def test_two_tasks_saving_the_same_new_keys_at_once_get_the_same_units(database: None, tmp_path: Path) -> None:
    names = [unique("race") for _ in range(20)]
    results: dict[int, list[str]] = {}
    start = threading.Barrier(4)

    def save(which: int) -> None:
        conduit = _conduit(unique(), tmp_path)
        start.wait()
        results[which] = [unit.id for unit in conduit.save_units([_file(name) for name in names])]

    threads = [threading.Thread(target=save, args=(which,)) for which in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4  # none raised (a lost race, where the server reports one, is a duplicate key)
    stored = {unit.name: unit.id for unit in fileplugin.TestFile.objects(name__in=names)}
    assert len(stored) == 20
    for ids in results.values():
        assert ids == [stored[name] for name in names]


def test_units_filtered_to_nothing_is_empty(database: None, tmp_path: Path) -> None:
    conduit = _conduit(unique(), tmp_path)
    unit, _ = conduit.save_unit(_file(unique()))
    assert conduit.units(fileplugin.TestFile, name=unique("none")).first() is None
    assert list(conduit.units(fileplugin.TestFile, name=unique("none"))) == []
    assert conduit.units(fileplugin.TestFile, name=unit.name).first() is None  # exists, but not held
    conduit.associate(unit)
    assert [held.id for held in conduit.units(fileplugin.TestFile, name=unit.name)] == [unit.id]


def test_unit_ids_by_type_reads_every_type_the_repository_holds(database: None, tmp_path: Path) -> None:
    repo_id = unique()
    conduit = _conduit(repo_id, tmp_path)
    assert conduit.unit_ids_by_type() == {}
    files = conduit.save_units([_file(unique()), _file(unique())])
    tag = conduit.save_units([_tag(repo_id, "latest")])[0]
    conduit.associate_all([*files, tag])
    _conduit(unique(), tmp_path).associate(conduit.save_unit(_file(unique()))[0])  # another repository's
    held = conduit.unit_ids_by_type()
    assert sorted(held) == ["docker_tag", "test_file"]
    assert sorted(held["test_file"]) == sorted(unit.id for unit in files)
    assert held["docker_tag"] == [tag.id]
