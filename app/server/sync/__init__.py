"""The server side of the sync protocol (docs/sync.md), as pure service
functions on a SQLAlchemy ``Session``; the HTTP layer is
``app/server/routers/sync.py``.

- ``push.py`` — a device's batch, all or nothing: replays and the device's
  high-water mark, retries, validation, ownership;
- ``merge.py`` — field-by-field merge, conflicts, deletes against edits;
- ``review_rules.py`` — the review workflow inside a push: revisions of
  approved records, decisions on the submission they were made on;
- ``batch.py`` — the batch in memory and how it is written, seqs assigned;
- ``pull.py`` — pages of what a user may see, resumable;
- ``templates.py`` — 教案 templates: only their owner writes one, a trainer
  shares theirs with the fellows of their cohorts (docs/templates.md).

Versions are ``[clock, device, seq]``; ``(clock, device)`` is the total order
that picks a field's winner (``version_key``), ``seq`` only says *when the
server stored it* and is what concurrency and pull cursors are measured in.
No wall clock is consulted anywhere.
"""
