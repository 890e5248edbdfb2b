"""pulp_docker.common on its own: media types, error codes, reference grammars, manifest parsing and
tarball readers, shared by the server and the client. Pure: no database or web dependencies."""

from setuptools import find_namespace_packages, setup

setup(
    name="pulp-docker-common",
    version="0.1.0",
    description="Code shared by the pulp_docker server and its pulp-admin extension",
    license="GPL-2.0-or-later",
    python_requires=">=3.11",
    packages=find_namespace_packages(include=["pulp_docker.common", "pulp_docker.common.*"]),
    install_requires=["jsonschema>=4.21", "zstandard>=0.22"],
)
