"""Who may see which repository: the registry's pull rule, applied to repositories.

A repository is served under the registry name of its docker web distributor, ``protected`` or not.
Signed-in users see every repository; an anonymous visitor sees a repository only when the registry
would let them pull it: it has a docker web distributor, none is ``protected`` and no name it is
published under is (``registry.auth.Identity.may_pull``, the rule anonymous ``docker pull`` meets).
"""

from __future__ import annotations

from dataclasses import dataclass

from pulp_docker.common import constants
from pulp_docker.plugins.publication import Published, RegistryName, is_protected, registry_name
from pulp_docker.plugins.registry.auth import ANONYMOUS as ANONYMOUS_CALLER
from pulp_docker.plugins.registry.auth import Identity
from pulp_docker.plugins.webui.sessions import Visitor
from pulp_platform.models.repository import RepoDistributor

WEB = constants.DISTRIBUTOR_WEB_TYPE_ID


@dataclass(frozen=True)
class Serving:
    """How a repository is served: its registry name and whether pulls need credentials.

    ``distributor_id`` is None for a repository without a docker web distributor (never served).
    """

    repo_id: str
    name: str
    protected: bool
    distributor_id: str | None = None
    publication_id: str | None = None

    @property
    def served(self) -> bool:
        return self.distributor_id is not None


def identity(visitor: Visitor) -> Identity:
    """The registry caller a visitor is: a signed-in user (no token limits) or anonymous."""
    return Identity(visitor.login) if visitor.signed_in else ANONYMOUS_CALLER


def may_see(visitor: Visitor, serving: Serving) -> bool:
    if visitor.signed_in:
        return True
    published = Published(serving.name, serving.repo_id, serving.publication_id or "", serving.protected)
    return serving.served and identity(visitor).may_pull(published)


def _protected_names(repo_ids: list[str]) -> dict[str, dict]:
    rows = RegistryName._get_collection().find({"repo_id": {"$in": repo_ids}},
                                               {"repo_id": 1, "protected": 1, "publication_id": 1})
    return {row["repo_id"]: row for row in rows}


def serving_of(repo_ids: list[str]) -> dict[str, Serving]:
    """The ``Serving`` of each of a few repositories (a page of them: ``$in`` lists stay short)."""
    found: dict[str, Serving] = {r: Serving(r, r, False) for r in repo_ids}
    if not repo_ids:
        return found
    published = _protected_names(repo_ids)
    rows = RepoDistributor._get_collection().find({"repo_id": {"$in": repo_ids}, "distributor_type_id": WEB},
                                                  {"repo_id": 1, "distributor_id": 1, "config": 1})
    for row in sorted(rows, key=lambda r: r["distributor_id"]):
        repo_id, config = row["repo_id"], row.get("config") or {}
        pointer = published.get(repo_id) or {}
        before = found[repo_id]
        protected = is_protected(config) or bool(pointer.get("protected")) or (before.served and before.protected)
        if before.served:  # several web distributors: the first names it, any protected protects it
            found[repo_id] = Serving(repo_id, before.name, protected, before.distributor_id, before.publication_id)
        else:
            found[repo_id] = Serving(repo_id, registry_name(repo_id, config), protected, row["distributor_id"],
                                     pointer.get("publication_id"))
    return found


def anonymous_repo_ids() -> list[str]:
    """Every repository an anonymous visitor may see, in id order (one pass over the web distributors)."""
    rows = RepoDistributor._get_collection().find({"distributor_type_id": WEB}, {"repo_id": 1, "config": 1})
    public: set[str] = set()
    hidden: set[str] = set()
    for row in rows:
        (hidden if is_protected(row.get("config") or {}) else public).add(row["repo_id"])
    for row in RegistryName._get_collection().find({"protected": True}, {"repo_id": 1}):
        hidden.add(row["repo_id"])
    return sorted(public - hidden)
