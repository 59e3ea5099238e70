"""What intake tells the rest of the product. Intake imports nothing of the desk.

``submission_processed`` is sent once per processed submission, after the
transaction that stored it commits, with ``submission_id``, ``lead_id``,
``kind`` ("lead" or "event") and ``created`` (a new lead). Receivers run in
the request: they must be quick and must not raise; slow work goes to Django-Q.
"""

from django.dispatch import Signal

submission_processed = Signal()
