from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mlsite import health, metrics
from registry.api.app import mounted
from registry.api.endpoints import api  # with every operation registered

# Every unhandled exception: problem+json under /api/ (a 503 past the request deadline).
handler500 = "mlsite.errors.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),  # Prometheus (token or allow-list)
    path("admin/", admin.site.urls),
    path("api/v1/", mounted(api)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("registry.web.urls")),
]
