"""The REST API v2 (``/pulp/api/v2/``) as a Starlette app; one module per resource.

Handlers are small synchronous functions (database calls block) wrapped by ``endpoint``, which
authenticates, parses the JSON body and runs them in the thread pool; upload chunks stream in an
async handler. Every error leaves through ``error_handlers``, the one place bodies get Pulp's shape.
"""
