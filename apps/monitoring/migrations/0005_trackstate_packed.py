"""The engine's per-person state packed as bytes (engine.EngineState.pack); rows written before keep their JSON
`state` and are read as before. On PostgreSQL the two tables rewritten row by row on every batch (a device's last
fix, a person's state) leave room in each page, so an update stays on its page without touching the indexes (HOT)."""

from django.db import migrations, models

_TABLES = ("monitoring_tracker", "monitoring_trackstate")


def _fillfactor(value: int):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in _TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {value})")
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("monitoring", "0004_order_renewals"),
    ]

    operations = [
        migrations.AddField(
            model_name="trackstate",
            name="packed",
            field=models.BinaryField(null=True),
        ),
        migrations.AlterField(
            model_name="trackstate",
            name="state",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(_fillfactor(70), _fillfactor(100)),
    ]
