"""Routes of the browser pages. Every page but sign-in needs a login (see views)."""

from django.urls import path

from registry.web import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("datasets/", views.dataset_list, name="dataset_list"),
    path("datasets/upload/", views.dataset_upload, name="dataset_upload"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset_detail"),
    path("datasets/<int:pk>/delete/", views.dataset_delete, name="dataset_delete"),
    path("datasets/<int:pk>/csv/", views.dataset_csv, name="dataset_csv"),
    path("datasets/<int:pk>/types/", views.dataset_types, name="dataset_types"),
    path("datasets/<int:pk>/visibility/", views.dataset_visibility, name="dataset_visibility"),
    path("datasets/<int:pk>/leaderboard/", views.leaderboard_create, name="leaderboard_create"),
    path("train/", views.train, name="train"),
    path("leaderboards/", views.leaderboard_list, name="leaderboard_list"),
    path("leaderboards/<int:pk>/", views.leaderboard_detail, name="leaderboard_detail"),
    path("leaderboards/<int:pk>/status/", views.leaderboard_status, name="leaderboard_status"),
    path("leaderboards/<int:pk>/cancel/", views.leaderboard_cancel, name="leaderboard_cancel"),
    path(
        "leaderboards/<int:pk>/register/", views.leaderboard_register, name="leaderboard_register"
    ),
    path("models/", views.model_list, name="model_list"),
    path("models/<str:name>/", views.model_detail, name="model_detail"),
    path("models/<str:name>/delete/", views.model_delete, name="model_delete"),
    path("models/<str:name>/edit/", views.model_edit, name="model_edit"),
    path("models/<str:name>/visibility/", views.model_visibility, name="model_visibility"),
    path("models/<str:name>/compare/", views.version_compare, name="version_compare"),
    path("models/<str:name>/aliases/", views.alias_move, name="alias_move"),
    path(
        "models/<str:name>/aliases/<str:alias>/rollback/",
        views.alias_rollback,
        name="alias_rollback",
    ),
    path(
        "models/<str:name>/aliases/<str:alias>/rollout/",
        views.alias_rollout,
        name="alias_rollout",
    ),
    path(
        "models/<str:name>/aliases/<str:alias>/canary/<str:action>/",
        views.alias_canary,
        name="alias_canary",
    ),
    path("models/<str:name>/versions/<int:version>/", views.version_detail, name="version_detail"),
    path(
        "models/<str:name>/versions/<int:version>/edit/",
        views.version_edit,
        name="version_edit",
    ),
    path(
        "models/<str:name>/versions/<int:version>/status/",
        views.version_status,
        name="version_status",
    ),
    path(
        "models/<str:name>/versions/<int:version>/plots/<str:plot>.svg",
        views.version_plot,
        name="version_plot",
    ),
    path(
        "models/<str:name>/versions/<int:version>/predict/",
        views.version_predict,
        name="version_predict",
    ),
    path(
        "models/<str:name>/versions/<int:version>/threshold/",
        views.version_threshold,
        name="version_threshold",
    ),
    path(
        "models/<str:name>/versions/<int:version>/batch/",
        views.version_batch_predict,
        name="version_batch_predict",
    ),
    path(
        "models/<str:name>/versions/<int:version>/batch-job/",
        views.version_batch_job,
        name="version_batch_job",
    ),
    path("batch-jobs/", views.batch_job_list, name="batch_job_list"),
    path("batch-jobs/<int:pk>/status/", views.batch_job_status, name="batch_job_status"),
    path("batch-jobs/<int:pk>/result/", views.batch_job_result, name="batch_job_result"),
    path("batch-jobs/<int:pk>/cancel/", views.batch_job_cancel, name="batch_job_cancel"),
    path(
        "models/<str:name>/versions/<int:version>/delete/",
        views.version_delete,
        name="version_delete",
    ),
    path(
        "models/<str:name>/versions/<int:version>/cancel/",
        views.version_cancel,
        name="version_cancel",
    ),
    path(
        "models/<str:name>/versions/<int:version>/export/",
        views.version_export,
        name="version_export",
    ),
    path("models/<str:name>/evaluations/", views.evaluation_create, name="evaluation_create"),
    path(
        "models/<str:name>/evaluations/<int:pk>/",
        views.evaluation_detail,
        name="evaluation_detail",
    ),
    path(
        "models/<str:name>/evaluations/<int:pk>/status/",
        views.evaluation_status,
        name="evaluation_status",
    ),
    path(
        "models/<str:name>/evaluations/<int:pk>/versions/<int:version>/wrong-rows.csv",
        views.evaluation_rows,
        name="evaluation_rows",
    ),
    path("import/", views.version_import, name="version_import"),
    path("webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/test/", views.webhook_test, name="webhook_test"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path("models/<str:name>/alerts/", views.alert_rules, name="alert_rules"),
    path(
        "models/<str:name>/alerts/<int:pk>/delete/",
        views.alert_rule_delete,
        name="alert_rule_delete",
    ),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    # Offered only when MLSERVE_ALLOW_SIGNUP is on (the view 404s otherwise).
    path("accounts/signup/", views.signup, name="signup"),
]
