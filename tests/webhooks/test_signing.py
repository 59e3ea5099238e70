"""The signature scheme, and the receiver's snippet in docs/webhooks.md run against it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from sdr_desk.webhooks.signing import signature_compute, signature_header, signature_verify

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
BODY = b'{"id":"tl-1","type":"disposition"}'


def _docs_verifier():
    text = DOCS.read_text()
    section = text.split("## Verifying the signature", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["desk_signature_ok"]


def test_the_header_is_stripe_style_over_the_timestamp_and_body():
    header = signature_header("s3cret", BODY, timestamp=1767354000)
    assert header == f"t=1767354000,v1={signature_compute('s3cret', 1767354000, BODY)}"
    import hashlib
    import hmac

    assert header.split("v1=")[1] == hmac.new(b"s3cret", b"1767354000." + BODY, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("verify", [signature_verify, _docs_verifier()], ids=["desk", "docs snippet"])
class TestVerifying:
    def test_a_fresh_signature_of_this_body_passes(self, verify):
        assert verify("s3cret", BODY, signature_header("s3cret", BODY))

    def test_another_secret_or_body_fails(self, verify):
        header = signature_header("s3cret", BODY)
        assert not verify("other", BODY, header)
        assert not verify("s3cret", BODY + b" ", header)

    def test_an_old_or_future_timestamp_fails(self, verify):
        assert not verify("s3cret", BODY, signature_header("s3cret", BODY, timestamp=int(time.time()) - 301))
        assert not verify("s3cret", BODY, signature_header("s3cret", BODY, timestamp=int(time.time()) + 301))

    @pytest.mark.parametrize("header", ["", "v1=abc", "t=soon,v1=abc", "t=1,v1="])
    def test_a_malformed_header_fails(self, verify, header):
        assert not verify("s3cret", BODY, header)
