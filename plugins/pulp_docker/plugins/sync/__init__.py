"""Sync from an upstream registry: ``repository`` runs it (metadata → download → save), ``config`` checks
the importer's keys, ``client`` speaks the registry API, ``source`` offers what it finds to the ingest.

Kept empty, so that checking a config does not load the HTTP client: the server's processes import
``repository`` (and httpx) only when a sync runs.
"""
