"""``pulp-admin``: the platform's command-line client.

The core lives here (global options, ``admin.conf``, login, tasks, the HTTP wrapper, the chunked
uploader); plugins add their command groups through the ``pulp.extensions.admin`` entry point group,
as Pulp 2's admin extensions did. See docs/pulp-admin.md.
"""
