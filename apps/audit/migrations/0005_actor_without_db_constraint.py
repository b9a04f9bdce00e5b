"""The actor column keeps no database foreign key (see AuditRecord.actor). SQLite rebuilds the table to drop it,
which drops its triggers with the old table: they are created again on the new one."""
import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_0004 = importlib.import_module("apps.audit.migrations.0004_sealed_batches")


def triggers_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in _0004.SQLITE_DROP + _0004.SQLITE:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0004_sealed_batches"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditrecord",
            name="actor",
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(triggers_again, migrations.RunPython.noop),
    ]
