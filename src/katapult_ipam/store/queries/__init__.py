"""The queries the service runs, one module per resource; each takes an open Connection.

Statements on the allocation hot path are fixed SQL run on the driver's cursor
(``store.driver``), chosen by benchmark; the rest are SQLAlchemy Core or ``text()``.
A ``resolve_*`` function turns a lookup into a record or raises the domain's
NotFound for it: one per lookup, next to the query it runs.
"""
