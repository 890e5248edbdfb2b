"""pulp-admin on its own: the client core, without the server's database, task or web dependencies.

Install it with the docker extension and the shared code beside it:
``pip install ./client_admin ./common ./extensions_admin``.
"""

from setuptools import find_packages, setup

setup(
    name="pulp-admin-client",
    version="0.1.0",
    description="pulp-admin: the command line client of a Pulp 2 REST API server",
    license="GPL-2.0-or-later",
    python_requires=">=3.11",
    packages=find_packages(include=["pulp_admin_client", "pulp_admin_client.*"]),
    install_requires=["click>=8.1", "rich>=13", "requests>=2.31"],
    entry_points={"console_scripts": ["pulp-admin = pulp_admin_client.admin:main"]},
)
