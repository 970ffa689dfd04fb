"""The bare-WSGI floor for bench_peers.py: parse the JSON body, answer a body of the app's size."""

import json
import os

SIZES = json.loads(os.environ.get("FLOOR_RESPONSE_SIZES", "{}"))
ANSWER = b"x" * int(SIZES.get("single", 64))


def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length))
    assert isinstance(body, dict)
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))]
    )
    return [ANSWER]
