"""Settings of the real ``manage.py qcluster`` that the killed-worker test starts: the test settings, but a
real cluster (not sync), one worker, a short poll, and a broker ``retry`` short enough that the task the
killed cluster held is redelivered within the test (``retry`` stays larger than ``timeout``: django-q #183)."""

from tests.settings import *  # noqa: F403

Q_CLUSTER = {**Q_CLUSTER, "sync": False, "workers": 1, "poll": 0.2, "timeout": 10, "retry": 12}  # noqa: F405
