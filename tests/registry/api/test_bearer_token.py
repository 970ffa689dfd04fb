"""registry/api/auth.py bearer_token: the one reader of `Authorization: Bearer <token>`
(the API's TokenAuth, /metrics and the WSGI application's choice of stack)."""

import pytest

from registry.api.auth import bearer_token


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer mls_a_b", "mls_a_b"),
        ("bearer mls_a_b", "mls_a_b"),
        ("BEARER   mls_a_b  ", "mls_a_b"),
        ("Bearer ", ""),
        ("Basic eDp5", ""),
        ("Bearermls_a_b", ""),
        (None, ""),
    ],
)
def test_it_reads_the_token_of_a_bearer_header(header, token):
    meta = {} if header is None else {"HTTP_AUTHORIZATION": header}
    assert bearer_token(meta) == token
