"""Test-wide setup: point Django at the one settings module with a test-only key.

Done here (not in pytest's ini) so the key is set before the settings are read.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsite.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-a-secret")
# Tests render templates without running collectstatic first.
os.environ.setdefault("MLSERVE_MANIFEST_STATIC", "0")

from django.conf import settings

settings.INSTALLED_APPS  # noqa: B018  (loads the settings so pytest-django sets Django up)
