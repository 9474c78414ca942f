from rest_framework.routers import SimpleRouter

from giftcards.views import GiftCardViewSet

router = SimpleRouter()
router.register("gift-cards", GiftCardViewSet, basename="gift-card")

urlpatterns = router.urls
