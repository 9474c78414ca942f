from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog and inventory"

    def ready(self) -> None:
        # Stock levels mirror their store's `allow_negative_stock` (the check constraint reads
        # the level row): follow every store creation and policy change, in its transaction.
        from accounts.services import store_policy_follow, sync_version_source
        from catalog.cache import barcode_lookups_follow_store
        from catalog.services.stock import stock_sync_store_policy
        from catalog.services.versions import catalog_version_take

        store_policy_follow(stock_sync_store_policy)
        # A scale barcode reads with its store's layout and currency: cached lookups go stale.
        store_policy_follow(barcode_lookups_follow_store)
        # Stores and registers are synced to registers too: their writes take catalog versions.
        sync_version_source(catalog_version_take)
