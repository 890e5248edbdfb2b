"""The registry pull API served from the platform's HTTP server; see ``app``."""
