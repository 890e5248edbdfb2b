"""The docker distributors: ``web`` publishes to the registry API, ``export`` is a placeholder."""
