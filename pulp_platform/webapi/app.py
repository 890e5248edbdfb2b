"""The ASGI app: routes under ``/pulp/api/v2/``, plugin web apps, error handlers, the reaper thread."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from pulp_platform import plugin_api
from pulp_platform.config import Settings
from pulp_platform.tasking import workers
from pulp_platform.tasking.celery_app import create_app as create_celery
from pulp_platform.tasking.celery_app import send
from pulp_platform.upload_streams import UploadStreams
from pulp_platform.uploads import Uploads
from pulp_platform.webapi import (
    content,
    login,
    plugins,
    repositories,
    repository_actions,
    repository_plugins,
    status,
    tasks,
    uploads,
)
from pulp_platform.webapi.endpoint import ApiState
from pulp_platform.webapi.error_handlers import HANDLERS

log = logging.getLogger(__name__)
PREFIX = "/pulp/api/v2/"


def api_routes() -> list[BaseRoute]:
    def r(path: str, endpoint, methods: list[str]) -> Route:
        return Route(PREFIX + path, endpoint, methods=methods)

    repo = "repositories/{repo_id}/"
    return [
        r("status/", status.status, ["GET"]),
        r("actions/login/", login.login, ["POST"]),
        r("repositories/", repositories.list_repositories, ["GET"]),
        r("repositories/", repositories.create_repository, ["POST"]),
        r(repo, repositories.get_repository, ["GET"]),
        r(repo, repositories.update_repository, ["PUT"]),
        r(repo, repositories.delete_repository, ["DELETE"]),
        r(repo + "actions/import_upload/", repository_actions.import_upload, ["POST"]),
        r(repo + "actions/associate/", repository_actions.associate, ["POST"]),
        r(repo + "actions/unassociate/", repository_actions.unassociate, ["POST"]),
        r(repo + "actions/publish/", repository_actions.publish, ["POST"]),
        r(repo + "actions/sync/", repository_actions.sync, ["POST"]),
        r(repo + "search/units/", content.search_units, ["POST"]),
        r(repo + "importers/", repository_plugins.list_importers, ["GET"]),
        r(repo + "importers/", repository_plugins.set_importer, ["POST"]),
        r(repo + "importers/{importer_id}/", repository_plugins.get_importer, ["GET"]),
        r(repo + "importers/{importer_id}/", repository_plugins.update_importer, ["PUT"]),
        r(repo + "importers/{importer_id}/", repository_plugins.remove_importer, ["DELETE"]),
        r(repo + "distributors/", repository_plugins.list_distributors, ["GET"]),
        r(repo + "distributors/", repository_plugins.add_distributor, ["POST"]),
        r(repo + "distributors/{distributor_id}/", repository_plugins.get_distributor, ["GET"]),
        r(repo + "distributors/{distributor_id}/", repository_plugins.update_distributor, ["PUT"]),
        r(repo + "distributors/{distributor_id}/", repository_plugins.remove_distributor, ["DELETE"]),
        r(repo + "history/sync/", repository_plugins.sync_history, ["GET"]),
        r(repo + "history/publish/{distributor_id}/", repository_plugins.publish_history, ["GET"]),
        r("content/types/", content.list_content_types, ["GET"]),
        r("content/types/{type_id}/", content.get_content_type, ["GET"]),
        r("content/units/{type_id}/", content.list_content_units, ["GET"]),
        # Before the unit route, which would take "search" for a unit id.
        r("content/units/{type_id}/search/", content.search_content_units, ["GET", "POST"]),
        r("content/units/{type_id}/{unit_id}/", content.get_content_unit, ["GET"]),
        r("content/uploads/", uploads.list_uploads, ["GET"]),
        r("content/uploads/", uploads.create_upload, ["POST"]),
        r("content/uploads/{upload_id}/", uploads.get_upload, ["GET"]),
        r("content/uploads/{upload_id}/", uploads.delete_upload, ["DELETE"]),
        r("content/uploads/{upload_id}/{offset}/", uploads.put_chunk, ["PUT"]),
        r("content/orphans/", content.orphan_summary, ["GET"]),
        r("content/orphans/", content.remove_orphans, ["POST", "DELETE"]),
        r("content/actions/delete_orphans/", content.remove_orphans, ["POST"]),
        r("content/orphans/{type_id}/", content.orphans_of_type, ["GET"]),
        r("content/orphans/{type_id}/", content.remove_orphans, ["DELETE"]),
        r("content/orphans/{type_id}/{unit_id}/", content.get_orphan_endpoint, ["GET"]),
        r("content/orphans/{type_id}/{unit_id}/", content.remove_orphans, ["DELETE"]),
        r("plugins/{kind}/", plugins.list_plugins, ["GET"]),
        r("plugins/{kind}/{plugin_id}/", plugins.get_plugin, ["GET"]),
        r("tasks/", tasks.list_tasks, ["GET"]),
        r("tasks/{task_id}/", tasks.get_task, ["GET"]),
        r("tasks/{task_id}/", tasks.cancel_task, ["DELETE"]),
    ]


def create_app(settings: Settings, mongo_uri: str, reaper: bool = True) -> Starlette:
    """The API for ``settings``; the database connection must already be made (``db.connect``).

    ``reaper``: reap dead workers from this process too (not needed beside a worker of its own).
    """
    found = plugin_api.plugins(settings.plugin_modules)
    celery = create_celery(settings)
    routes = api_routes()
    for mount in found.web_apps:
        try:
            mount(routes)
        except Exception:
            log.exception("PLUGIN WEB APP NOT MOUNTED: %r failed; skipping it", mount)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The API reaps dead workers too, so tasks are failed even when every worker is gone.
        beat = None
        if reaper:
            beat = workers.Heartbeat(None, settings.worker_timeout, lambda task_id: send(celery, task_id))
            beat.start()
        try:
            yield
        finally:
            if beat is not None:
                beat.stop()

    app = Starlette(routes=routes, exception_handlers=HANDLERS, lifespan=lifespan)
    uploads_ = Uploads(settings.upload_path)
    consumers = [cls.upload_consumer for cls in found.importers.values() if cls.upload_consumer is not None]
    app.state.pulp = ApiState(settings=settings, celery=celery, plugins=found, uploads=uploads_, mongo_uri=mongo_uri,
                              streams=UploadStreams(uploads_, settings.content_path, consumers))
    return app
