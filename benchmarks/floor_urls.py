"""A bare Django view that parses the same JSON and answers a body of a given size."""

import json
import os

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

SIZES = json.loads(os.environ.get("FLOOR_RESPONSE_SIZES", "{}"))


@csrf_exempt
def floor(request: HttpRequest, kind: str) -> HttpResponse:
    body = json.loads(request.body)
    assert isinstance(body, dict)
    return HttpResponse(b"x" * int(SIZES.get(kind, 64)), content_type="application/json")


urlpatterns = [path("floor/<str:kind>", floor)]
