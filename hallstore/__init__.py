"""The hall database: one SQLite file per hall, and everything that writes or migrates it.

* :class:`HallStore` (``store.py``): a process's writer; ``store.transaction()`` commits a
  flow's state and its events (``tx.journal(...)``) in one transaction.
* ``journal.py``: opening the database (:func:`hallstore.journal.connect`), seq allocation,
  the outbox the agent's publisher drains.
* ``schema.py``: every table of the file as one migration history (``core.sqlite_migrations``).
* ``retention.py``: bounded disk use and refusing new tickets before the disk is full.

See ``docs/agent.md`` ("The hall store") and ``docs/architecture.md`` ("The hall database").
"""

from hallstore.store import HallStore, HallTransaction

__all__ = ["HallStore", "HallTransaction"]
