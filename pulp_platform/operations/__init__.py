"""What the platform does to repositories and content, called by the API and run inside tasks.

Functions run as tasks take a ``TaskContext`` first and plain JSON arguments after it, and return a
JSON-able result (the task report's ``result``). Writers follow one order so that a failure at any
point leaves nothing visible: content files, then units, then associations, then counts.
"""
