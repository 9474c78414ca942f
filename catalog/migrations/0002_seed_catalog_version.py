"""Seed the single catalog version row (id 1) that every product write increments."""

from django.db import migrations


def seed(apps, schema_editor):
    CatalogVersion = apps.get_model("catalog", "CatalogVersion")
    CatalogVersion.objects.get_or_create(id=1, defaults={"value": 0})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
