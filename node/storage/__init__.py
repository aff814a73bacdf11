"""Storage: feeds and private data on eventsourcing, behind small ports.

Blocking database calls leave the event loop only inside this package: writes
through :class:`node.storage.writer.Writer` (one thread), reads through a
thread pool (``docs/architecture.md``).
"""
