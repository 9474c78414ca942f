# Returns' lines snapshot the product's sku and name, as sold lines do, so that a return receipt
# reprinted after a catalog edit is the one the customer got. Lines written before this take the
# catalog's sku and name of now (the nearest there is).

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_snapshots(apps, schema_editor):
    ReturnLine = apps.get_model("orders", "ReturnLine")
    Product = apps.get_model("catalog", "Product")
    product = Product.objects.filter(pk=OuterRef("product_id"))
    ReturnLine.objects.update(
        sku=Subquery(product.values("sku")[:1]), name=Subquery(product.values("name")[:1])
    )


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0006_returns"),
        ("orders", "0013_exchanges"),
    ]

    operations = [
        migrations.AddField(
            model_name="returnline",
            name="sku",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="returnline",
            name="name",
            field=models.CharField(default="", max_length=200),
            preserve_default=False,
        ),
        migrations.RunPython(fill_snapshots, migrations.RunPython.noop),
    ]
