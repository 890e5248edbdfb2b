"""A test double of the platform's ``Conduit``: units and associations in memory, a real content store.

It keeps what the ingest path relies on (a unit key is saved once, ``associate`` says whether it
was new, ``units`` sees only what the repository holds) and lets a test make any call fail, so the
failure paths of the ingest run in-process without a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pulp_platform.models.content import ContentUnit
from pulp_platform.plugin_api import AssociationFailed
from pulp_platform.storage import ContentStore


class Units(list):
    def first(self) -> Any:
        return self[0] if self else None


class ConduitDouble:
    """One repository's conduit; ``units_by_key`` and ``held`` may be shared by several doubles."""

    def __init__(self, repo_id: str, store: ContentStore, *, units_by_key: dict | None = None,
                 held: dict | None = None) -> None:
        self.repo_id = repo_id
        self.store = store
        self.units_by_key: dict[tuple, ContentUnit] = {} if units_by_key is None else units_by_key
        # (repo_id, unit id) -> unit, for every repository sharing these dicts.
        self.held: dict[tuple[str, str], ContentUnit] = {} if held is None else held
        self.fail: dict[str, Callable[[Any], bool]] = {}
        self.calls: list[tuple[str, Any]] = []

    def fail_on(self, method: str, when: Callable[[Any], bool]) -> None:
        """Make ``method`` raise RuntimeError for the arguments ``when`` picks."""
        self.fail[method] = when

    def _check(self, method: str, arg: Any) -> None:
        self.calls.append((method, arg))
        when = self.fail.get(method)
        if when is not None and when(arg):
            raise RuntimeError(f"{method} failed (test double)")

    @staticmethod
    def _key(unit: ContentUnit) -> tuple:
        return (unit.type_id, *(getattr(unit, name) for name in unit.unit_key_fields))

    def save_unit(self, unit: ContentUnit, *, update: bool = False) -> tuple[ContentUnit, bool]:
        self._check("save_unit", unit)
        key = self._key(unit)
        existing = self.units_by_key.get(key)
        if existing is None:
            self.units_by_key[key] = unit
            return unit, True
        if update:
            for name in unit._fields:
                if name != "id":
                    setattr(existing, name, getattr(unit, name))
        return existing, False

    def save_units(self, units: list[ContentUnit]) -> list[ContentUnit]:
        """The platform's batch is one bulk write; here each unit goes through ``save_unit`` (and its failures)."""
        return [self.save_unit(unit)[0] for unit in units]

    def associate(self, unit: ContentUnit) -> bool:
        self._check("associate", unit)
        if (self.repo_id, unit.id) in self.held:
            return False
        self.held[(self.repo_id, unit.id)] = unit
        return True

    def associate_all(self, units: list[ContentUnit]) -> list[bool]:
        """One ``associate`` per unit (each may be made to fail); a failure part way is reported as the
        real conduit's bulk write reports it, naming the units added before it."""
        self.calls.append(("associate_all", list(units)))
        added: list[bool] = []
        for unit in units:
            try:
                added.append(self.associate(unit))
            except RuntimeError as exc:
                raise AssociationFailed([u for u, new in zip(units, added, strict=False) if new], exc) from exc
        return added

    def unassociate(self, unit: ContentUnit) -> bool:
        self._check("unassociate", unit)
        return self.held.pop((self.repo_id, unit.id), None) is not None

    def units(self, model: type[ContentUnit], **filters: Any) -> Units:
        def matches(unit: ContentUnit) -> bool:
            for name, wanted in filters.items():
                if name.endswith("__in"):
                    if getattr(unit, name[:-4]) not in wanted:
                        return False
                elif getattr(unit, name) != wanted:
                    return False
            return True

        return Units(u for (repo, _id), u in self.held.items()
                     if repo == self.repo_id and isinstance(u, model) and matches(u))

    def held_units(self) -> Iterator[ContentUnit]:
        return (u for (repo, _id), u in self.held.items() if repo == self.repo_id)

    def set_progress(self, report: dict[str, Any]) -> None:
        self.calls.append(("set_progress", report))

    def check_canceled(self) -> None:
        pass

    def check_owner(self) -> None:
        """The fence: ``fail_on("check_owner", ...)`` makes it refuse, as for a task declared dead."""
        self._check("check_owner", None)
