"""The hall's own network: the hall box serves the queue to the kiosks and PADs of its hall,
which run on machines of their own (``docs/hall-api.md``)."""
