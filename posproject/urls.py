from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("catalog.urls")),
    path("", include("pricebook.urls")),
    path("", include("customers.urls")),
    path("", include("orders.urls")),
    path("", include("giftcards.urls")),
    path("", include("ledger.urls")),
    path("", include("audit.urls")),
    path("", include("sync.urls")),
]

admin.site.site_header = "POS backend administration"
admin.site.site_title = "POS backend admin"
admin.site.index_title = "Back office"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/v1/", include(api_v1)),
    path("", include("monitoring.urls")),
]

handler400 = "apitools.errors.handler400"
handler403 = "apitools.errors.handler403"
handler404 = "apitools.errors.handler404"
handler500 = "apitools.errors.handler500"
