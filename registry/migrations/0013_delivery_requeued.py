"""A webhook delivery records when the worker queued it again after its task was lost
(registry/alerts/webhooks.py, recover_lost_deliveries)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0012_merge_0011"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="requeued_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
