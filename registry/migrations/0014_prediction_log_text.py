"""The prediction log keeps its inputs and outputs as JSON text (registry.models.JSONTextField),
inputs stored by column; on PostgreSQL both columns compress with lz4 where the server has it
(pglz, the default, cost a 100-row request's log row more server CPU than the rest of its
write: benchmarks/README.md). Rows written before stay readable as they are."""

from django.db import migrations

import registry.models

COLUMNS = ("inputs", "outputs")


def lz4_where_available(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # Servers built without lz4 do not list it among this setting's values.
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        row = cursor.fetchone()
        if not (row and row[0]):
            return
        table = schema_editor.quote_name(apps.get_model("registry", "PredictionLog")._meta.db_table)
        columns = ", ".join(
            f"ALTER COLUMN {schema_editor.quote_name(c)} SET COMPRESSION lz4" for c in COLUMNS
        )
        cursor.execute(f"ALTER TABLE {table} {columns}")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0013_delivery_requeued"),
    ]

    operations = [
        migrations.AlterField(
            model_name="predictionlog",
            name="inputs",
            field=registry.models.LoggedRowsField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="predictionlog",
            name="outputs",
            field=registry.models.JSONTextField(blank=True, null=True),
        ),
        migrations.RunPython(lz4_where_available, migrations.RunPython.noop),
    ]
