"""API routes of this app, mounted under /api/v1/ by posproject/urls.py."""

from rest_framework.routers import SimpleRouter

from catalog.views import (
    CategoryViewSet,
    ModifierGroupViewSet,
    ProductViewSet,
    StockAdjustmentViewSet,
    StockLevelViewSet,
    StockMovementViewSet,
    TaxRateViewSet,
)

router = SimpleRouter()
router.register("tax-rates", TaxRateViewSet, basename="tax-rate")
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")
router.register("modifier-groups", ModifierGroupViewSet, basename="modifier-group")
# Before `stock`, so `stock/adjustments/` is never read as a level's id.
router.register("stock/adjustments", StockAdjustmentViewSet, basename="stock-adjustment")
router.register("stock/movements", StockMovementViewSet, basename="stock-movement")
router.register("stock", StockLevelViewSet, basename="stock-level")

urlpatterns = [
    *router.urls,
]
