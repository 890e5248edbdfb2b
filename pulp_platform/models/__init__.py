"""The platform's documents; plugin unit models live with their plugins."""

from pulp_platform.models.content import ContentUnit, RepositoryContentUnit
from pulp_platform.models.history import RepoPublishResult, RepoSyncResult
from pulp_platform.models.journal import TaskJournal
from pulp_platform.models.repository import RepoDistributor, RepoImporter, Repository
from pulp_platform.models.task import Counter, ReservedResource, TaskStatus, Worker
from pulp_platform.models.user import AuthToken, User

__all__ = [
    "PLATFORM_MODELS",
    "AuthToken",
    "ContentUnit",
    "Counter",
    "RepoDistributor",
    "RepoImporter",
    "RepoPublishResult",
    "RepoSyncResult",
    "Repository",
    "RepositoryContentUnit",
    "ReservedResource",
    "TaskJournal",
    "TaskStatus",
    "User",
    "Worker",
]

PLATFORM_MODELS: list[type] = [
    Repository, RepoImporter, RepoDistributor, RepositoryContentUnit,
    TaskStatus, ReservedResource, Worker, Counter, User, AuthToken, RepoSyncResult, RepoPublishResult,
    TaskJournal,
]
