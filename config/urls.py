from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from crm.docs import RedocView, SwaggerView, redoc_bundle
from crm.metrics import metrics_view
from crm.views import healthz, livez

api_v1 = [
    path("", include("crm.urls")),
    # labels and custom fields before contacts so /contacts/labels beats /contacts/{id}
    path("", include("labels.urls")),
    path("", include("tags.urls")),
    path("", include("contacts.urls")),
    path("", include("messaging.urls")),
    path("", include("imports.urls")),
    path("", include("events.urls")),
    path("", include("exports.urls")),
    path("", include("privacy.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("v1/crm/", include(api_v1)),
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("v1/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("v1/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("v1/redoc/redoc.standalone.js", redoc_bundle, name="redoc-bundle"),
]

handler400 = "crm.middleware.handler400"
handler403 = "crm.middleware.handler403"
handler404 = "crm.middleware.handler404"
handler500 = "crm.middleware.handler500"
