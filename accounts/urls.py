"""API routes of this app, mounted under /api/v1/ by posproject/urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.views import (
    LogoutView,
    MeView,
    PasswordChangeView,
    PinView,
    RegisterViewSet,
    StoreViewSet,
    TokenObtainView,
    TokenRefreshView,
    UserViewSet,
)

router = SimpleRouter()
router.register("users", UserViewSet, basename="user")
router.register("stores", StoreViewSet, basename="store")
router.register("registers", RegisterViewSet, basename="register")

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="auth-token"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", MeView.as_view(), name="auth-me"),
    path("auth/password/", PasswordChangeView.as_view(), name="auth-password"),
    path("auth/pin/", PinView.as_view(), name="auth-pin"),
    *router.urls,
]
