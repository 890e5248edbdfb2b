"""The web UI under ``/ui/``: server-rendered pages (Jinja2) to see and manage repositories, tags,
manifests, tasks and uploads, with a little JavaScript for live updates. See docs/web-ui.md."""
