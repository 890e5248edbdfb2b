"""The whole project as one distribution: the platform, the docker plugin, its shared code, pulp-admin
and its docker extension (what `make run` and the tests install).

The client can also be installed on its own, without the server's dependencies, as Pulp 2 shipped
pulp-admin-client apart: ``pip install ./client_admin ./common ./extensions_admin`` (each folder has
its own ``setup.py``; see docs/pulp-admin.md).

The folders follow Pulp 2's layout (``common/pulp_docker/common``, ``plugins/pulp_docker/plugins``,
``extensions_admin/pulp_docker/extensions/admin``); ``pulp_docker`` is a namespace package spread over
them, so ``package_dir`` maps each sub-package to its folder.
"""

from setuptools import find_packages, setup

PACKAGE_DIRS = {
    "pulp_admin_client": "client_admin/pulp_admin_client",
    "pulp_docker.common": "common/pulp_docker/common",
    "pulp_docker.plugins": "plugins/pulp_docker/plugins",
    "pulp_docker.extensions.admin": "extensions_admin/pulp_docker/extensions/admin",
}


def _packages() -> list[str]:
    packages = ["pulp_platform"] + [f"pulp_platform.{p}" for p in find_packages("pulp_platform")]
    for name, folder in PACKAGE_DIRS.items():
        packages.append(name)
        packages += [f"{name}.{p}" for p in find_packages(folder)]
    return packages


def _package_dirs() -> dict[str, str]:
    dirs = dict(PACKAGE_DIRS)
    for name, folder in PACKAGE_DIRS.items():
        for sub in find_packages(folder):
            dirs[f"{name}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"
    return dirs


setup(
    name="pulp_docker",
    version="0.1.0",
    description="A content manager for container images speaking the Pulp 2 REST API and the registry API",
    license="GPL-2.0-or-later",
    python_requires=">=3.11",
    packages=_packages(),
    package_dir=_package_dirs(),
    # The web UI's templates and static files are installed with it (an editable install reads them in place).
    package_data={"pulp_docker.plugins.webui": ["templates/*.html", "static/*"]},
    install_requires=[
        "mongoengine>=0.29",
        "pymongo>=4.7",  # serverMonitoringMode (the embedded database's URI)
        "celery[sqlalchemy]>=5.4",
        "redis>=5",
        "starlette>=0.40",
        "uvicorn>=0.30",
        # uvicorn picks these up: C parsing of large request bodies (upload PUTs) instead of h11.
        "httptools>=0.6",
        "uvloop>=0.19",
        "click>=8.1",
        "rich>=13",
        "requests>=2.31",
        # The sync's registry client: streaming, HTTP/1.1 keep-alive, proxies, TLS contexts.
        "httpx>=0.27",
        "jsonschema>=4.21",
        # zstd-compressed tarballs (tarfile reads gzip, bzip2 and xz itself; zstd only from Python 3.14).
        "zstandard>=0.22",
        "bcrypt>=4",
        # The web UI's server-rendered pages (pulp_docker.plugins.webui).
        "jinja2>=3.1",
        "secantusdb==0.7.0b3",
    ],
    extras_require={
        # playwright drives Debian's chromium (/usr/bin/chromium) in tests/ui; it downloads no browser.
        "test": ["pytest>=8", "pytest-timeout", "ruff", "psutil", "playwright>=1.40"],
    },
    entry_points={
        "console_scripts": [
            "pulp-server = pulp_platform.server_cli:main",
            "pulp-admin = pulp_admin_client.admin:main",
        ],
        # The plugin seam: Pulp 2 plugins registered the same way.
        "pulp.unit_models": [
            "docker_blob = pulp_docker.plugins.models:Blob",
            "docker_manifest = pulp_docker.plugins.models:Manifest",
            "docker_manifest_list = pulp_docker.plugins.models:ManifestList",
            "docker_tag = pulp_docker.plugins.models:Tag",
        ],
        "pulp.importers": [
            "docker_importer = pulp_docker.plugins.importers.importer:DockerImporter",
        ],
        "pulp.distributors": [
            "docker_distributor_web = pulp_docker.plugins.distributors.web:DockerWebDistributor",
            "docker_distributor_export = pulp_docker.plugins.distributors.export:DockerExportDistributor",
        ],
        "pulp.web_apps": [
            "docker_registry = pulp_docker.plugins.registry.app:mount",
            "docker_webui = pulp_docker.plugins.webui.app:mount",
        ],
        "pulp.extensions.admin": [
            "docker = pulp_docker.extensions.admin.cli:docker_group",
        ],
    },
)
