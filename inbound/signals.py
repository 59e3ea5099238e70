"""What intake tells the rest of the product. Intake imports nothing of the desk.

``submission_processed`` is sent once per processed submission, after the
transaction that stored it commits, with ``submission_id``, ``lead_id``,
``kind`` ("lead" or "event") and ``created`` (a new lead). Receivers run in
the request: they must be quick and must not raise; slow work goes to Django-Q.

``leads_batch_processed`` is sent instead, once per batch, for bulk channels
(a CSV import chunk), after the batch commits, with ``lead_ids`` and
``channel``: receivers handle a thousand leads in a few set-based queries
rather than a thousand times one.
"""

from django.dispatch import Signal

submission_processed = Signal()
leads_batch_processed = Signal()
