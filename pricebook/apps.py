from django.apps import AppConfig


class PricebookConfig(AppConfig):
    name = "pricebook"
    verbose_name = "Price lists and promotions"
