"""The docs pages (Swagger UI, ReDoc), served with no request to another host
and no inline script, so they work offline and under the CSP of
config/settings.py: assets from drf-spectacular-sidecar through /static/,
ReDoc in the system font stack (its default template loads Google Fonts)."""
import json

from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# ReDoc's theme: the fonts every system has instead of Montserrat/Roboto from Google.
SYSTEM_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
REDOC_SETTINGS = {
    "hideDownloadButton": False,
    "theme": {
        "typography": {
            "fontFamily": SYSTEM_FONTS,
            "headings": {"fontFamily": SYSTEM_FONTS},
            "code": {"fontFamily": "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"},
        }
    },
}


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI whose init script is a separate request (`?script`)."""


class RedocView(SpectacularRedocView):
    template_name = "crm/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.data["settings"] = json.dumps({**REDOC_SETTINGS, **(spectacular_settings.REDOC_UI_SETTINGS or {})})
        return response
