"""The errors the registry reports to people, by kind; each kind carries its HTTP status.

Services raise them; the API turns them into problem+json and the pages into form errors.
"""


class RegistryError(Exception):
    """Base of the errors the registry reports to people; `errors` maps fields to sentences."""

    status = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class InvalidInput(RegistryError):
    status = 422


class NotFound(RegistryError):
    status = 404


class Conflict(RegistryError):
    status = 409


class Forbidden(RegistryError):
    status = 403


class TooLarge(RegistryError):
    status = 413


class MalformedBody(RegistryError):
    """A body that is not one of the accepted shapes (400)."""

    status = 400


class UnsupportedMediaType(RegistryError):
    """A body in a media type the endpoint does not read (415)."""

    status = 415


class ModelTooLarge(RegistryError):
    """A stored model that takes more memory than a server keeps for loaded models
    (MLSERVE_MODEL_CACHE_MB): it is not loaded (507: the server's budget, not the request,
    is what it does not fit). Trainings and imports of such models are refused earlier."""

    status = 507


class QuotaExceeded(RegistryError):
    """A user owns as many of something as one user may (429: nothing is wrong with the
    request itself; deleting something frees room)."""

    status = 429


class RequestDeadlineExceeded(Exception):
    """Raised inside a request (by SIGALRM) that ran past MLSERVE_REQUEST_DEADLINE_S."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"request deadline of {seconds:g} s passed")
        self.seconds = seconds


def deadline_detail(seconds: float) -> str:
    return (
        f"The request took longer than {seconds:g} s (MLSERVE_REQUEST_DEADLINE_S) and was "
        "stopped. Send fewer rows per request, or try again."
    )


MEMORY_DETAIL = (
    "The request needed more memory than a server worker may use (MLSERVE_WEB_MAX_MEMORY_MB) "
    "and was stopped. Send fewer rows per request."
)


CONFLICT_DETAIL = (
    "Someone changed or deleted what this request refers to at the same time, so nothing "
    "was changed. Reload and try again."
)
