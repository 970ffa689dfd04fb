"""A revoked or expired token is refused by every worker of a real gunicorn within 2 s,
on the lean prediction stack (mlsite/wsgi.py) and the full one alike: each worker keeps the
tokens it verified for registry.tokens.TOKEN_TTL_S only."""

import time

import pytest
from django.utils import timezone

from registry import tokens
from registry.models import ApiToken
from tests.system.conftest import Api

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.system]

ROW = {
    "tenure_months": 3,
    "monthly_charges": 95.0,
    "contract": "month-to-month",
    "internet": "fiber",
    "support_calls": 4,
}
REFUSED_WITHIN_S = 2.0


def both_stacks(api: Api) -> list[int]:
    """A prediction (the lean stack) and a read (the full one): their statuses."""
    return [
        api.post("/models/churn/predict", {"instances": [ROW]}).status,
        api.get("/algorithms").status,
    ]


def end_token(how: str, record: ApiToken) -> None:
    if how == "revoked":
        tokens.token_revoke(token=record, user=record.user)
    else:
        ApiToken.objects.filter(pk=record.pk).update(expires_at=timezone.now())


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_an_ended_token_is_refused_by_every_worker_within_2_s(churn, owner, start_server, how):
    record, text = tokens.token_create(user=owner, name="soon ended")
    api = Api(start_server("a", workers=2).url, text)
    for _ in range(10):  # each worker (one connection per request) verifies and caches it
        assert both_stacks(api) == [200, 200]

    end_token(how, record)
    ended = time.monotonic()
    # Poll until a worker refuses it; the wall clock only bounds the loop.
    while 401 not in both_stacks(api):
        assert time.monotonic() - ended < REFUSED_WITHIN_S, f"the {how} token still works"
    # Every worker's cached verification is older than its time to live by now: all refuse.
    time.sleep(max(0.0, ended + tokens.TOKEN_TTL_S - time.monotonic()))
    assert [both_stacks(api) for _ in range(20)] == [[401, 401]] * 20
    reply = api.get("/algorithms")
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reply.json()["status"] == 401
