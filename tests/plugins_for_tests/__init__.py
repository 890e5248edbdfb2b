"""Plugins loaded by the test server through the ``plugin_modules`` setting."""
