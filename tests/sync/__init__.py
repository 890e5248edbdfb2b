"""Sync tests against real upstreams on loopback (distribution over TLS, a protected server of ours).

A package (unlike the other test folders) so its ``test_sync.py`` does not clash with
``tests/docker/test_sync.py``: pytest imports this one as ``sync.test_sync``.
"""
