from django.apps import AppConfig


class StoredValueConfig(AppConfig):
    name = "storedvalue"
    verbose_name = "Store credit"
