"""Merges the four 0011 migrations of issues 20's parts (batch jobs, tags and notes, teams,
token scopes): none touches another's tables or fields."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0011_batch_jobs"),
        ("registry", "0011_tags_notes"),
        ("registry", "0011_teams"),
        ("registry", "0011_token_scopes"),
    ]

    operations = []
