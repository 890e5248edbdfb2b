"""The ``pulp-admin docker …`` commands on their own, for a pulp-admin installed without the server."""

from setuptools import find_namespace_packages, setup

setup(
    name="pulp-docker-admin-extensions",
    version="0.1.0",
    description="pulp-admin docker: the docker commands of pulp-admin",
    license="GPL-2.0-or-later",
    python_requires=">=3.11",
    packages=find_namespace_packages(include=["pulp_docker.extensions.admin", "pulp_docker.extensions.admin.*"]),
    install_requires=["pulp-admin-client", "pulp-docker-common"],
    entry_points={"pulp.extensions.admin": ["docker = pulp_docker.extensions.admin.cli:docker_group"]},
)
