"""Registry push: the repository a pushed name lands in, and the repository-locked steps of a push.

Blob uploads are written by the API process as they arrive (``registry.uploads``) and committed by the
ingest path's ``store_blob``; a manifest PUT or a delete runs as a task under the repository's lock
(``operations``), so it is serialised with imports and publishes of that repository while blob
uploads run in parallel.
"""
