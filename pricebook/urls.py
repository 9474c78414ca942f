"""API routes of this app, mounted under /api/v1/ by posproject/urls.py."""

from rest_framework.routers import SimpleRouter

from pricebook.views import PriceListViewSet, PromotionViewSet

router = SimpleRouter()
router.register("price-lists", PriceListViewSet, basename="price-list")
router.register("promotions", PromotionViewSet, basename="promotion")

urlpatterns = [
    *router.urls,
]
