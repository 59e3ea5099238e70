"""The project's URLs plus the baselines the benches measure against.

``/bench/plain-leads/`` is a plain DRF create of the same model (``Lead``) with
the same authentication (an API key), the same JSON parser, renderer and
exception handler as ``POST /api/v1/leads/``, and no intake logic: no raw
submission, no dedupe, no account, activity or timeline, no scoring or
routing after commit. What the intake path costs beyond it is what intake does.
"""

import os

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from rest_framework import generics, permissions, serializers

from inbound.api_auth import ApiKeyAuthentication
from inbound.api_parsers import LimitedJSONParser
from inbound.models import Lead
from sdr_desk.urls import urlpatterns as project_urlpatterns


class PlainLeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = ["email", "first_name", "last_name", "company", "job_title", "phone", "country"]


class PlainLeadCreateApi(generics.CreateAPIView):
    queryset = Lead.objects.all()
    serializer_class = PlainLeadSerializer
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [LimitedJSONParser]


if os.environ.get("BENCH_HAND_ON") == "0":
    # bench_intake.py --without-hand-on: price intake alone, without what the desk does after commit
    # (scoring, routing). A what-if for the bench only; never how the desk runs.
    from inbound.signals import submission_processed

    submission_processed.receivers = []
    submission_processed.sender_receivers_cache.clear()


urlpatterns = [
    path("bench/plain-leads/", login_not_required(PlainLeadCreateApi.as_view()), name="bench-plain-leads"),
    *project_urlpatterns,
]
