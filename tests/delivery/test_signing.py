"""Standard Webhooks signatures: the specification's published example, and the reference
library agreeing with ours both ways."""

from __future__ import annotations

import datetime as dt

import pytest
from standardwebhooks.webhooks import Webhook

from delivery.signing import InvalidSignature, headers_for, new_secret, sign, verify

# The example of the specification's reference libraries (standard-webhooks, tests of
# libraries/python and the other languages): secret, id, timestamp, body and its signature.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_example_signs_to_its_published_signature() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    # the secret without its prefix keys the same HMAC
    assert sign(SPEC_SECRET.removeprefix("whsec_"), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == (
        SPEC_SIGNATURE
    )


def test_the_published_example_verifies_at_its_time_and_not_ten_minutes_later() -> None:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 60)
    with pytest.raises(InvalidSignature, match="too far"):
        verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 600)


def test_a_changed_body_id_or_secret_does_not_verify() -> None:
    secret = new_secret()
    body = b'{"type":"gift.spent","data":{"amount":"100.00"}}'
    headers = headers_for(secret, "msg_1", body)
    verify(secret, headers, body)
    with pytest.raises(InvalidSignature):
        verify(secret, headers, body.replace(b"100.00", b"900.00"))
    with pytest.raises(InvalidSignature):
        verify(secret, {**headers, "webhook-id": "msg_2"}, body)
    with pytest.raises(InvalidSignature):
        verify(new_secret(), headers, body)
    with pytest.raises(InvalidSignature, match="missing"):
        verify(secret, {"webhook-id": "msg_1"}, body)


def test_the_reference_library_verifies_our_headers_and_signs_as_we_do() -> None:
    secret = new_secret()
    body = '{"summary":"您的善款已到达炉霍县"}'.encode()
    headers = headers_for(secret, "msg_abc", body)
    assert Webhook(secret).verify(body, headers) == {"summary": "您的善款已到达炉霍县"}
    moment = dt.datetime.fromtimestamp(SPEC_TIMESTAMP, dt.UTC)
    assert Webhook(secret).sign("msg_abc", moment, body) == sign(
        secret, "msg_abc", SPEC_TIMESTAMP, body
    )


def test_a_secret_is_whsec_and_24_random_bytes() -> None:
    import base64

    one, two = new_secret(), new_secret()
    assert one != two and one.startswith("whsec_")
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == 24
