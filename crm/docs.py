"""The docs pages (Swagger UI, ReDoc), served with no request to another host
and no inline script, so they work offline and under the CSP of
config/settings.py: assets from drf-spectacular-sidecar through /static/,
ReDoc in the system font stack (its default template loads Google Fonts)
and with its footer logo from this site (tests/crm/test_docs_pages.py)."""
import json
from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.gzip import gzip_page
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


# ReDoc's bundle draws its "API docs by Redocly" footer with an <img> from
# Redocly's CDN, and has no option to leave it out.
REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=1)
def _redoc_bundle() -> bytes:
    bundle = Path(finders.find(REDOC_BUNDLE)).read_bytes()
    return bundle.replace(REDOC_CDN_LOGO, b"/favicon.ico")


@gzip_page
@cache_control(public=True, max_age=24 * 3600)
def redoc_bundle(request):
    """The sidecar's ReDoc bundle with the footer logo taken from this site."""
    return HttpResponse(_redoc_bundle(), content_type="application/javascript; charset=utf-8")


class RedocView(SpectacularRedocView):
    template_name = "crm/redoc.html"

    @staticmethod
    def _redoc_standalone():
        return reverse("redoc-bundle")

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.data["settings"] = json.dumps({**REDOC_SETTINGS, **(spectacular_settings.REDOC_UI_SETTINGS or {})})
        return response
