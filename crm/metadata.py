"""OPTIONS answers (DRF's SimpleMetadata), safe on collection routes that take PUT."""
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import clone_request


class CrmMetadata(SimpleMetadata):
    """SimpleMetadata checks a PUT by loading the object, which needs the id of
    the URL: on a collection route that takes PUT (`PUT /contacts/upsert`) it
    failed with an AssertionError (500). Here the object is only loaded when the
    route names one; permissions are checked either way."""

    def determine_actions(self, request, view):
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
        has_object = bool(lookup) and lookup in getattr(view, "kwargs", {})
        actions = {}
        for method in {"PUT", "POST"} & set(view.allowed_methods):
            view.request = clone_request(request, method)
            try:
                if hasattr(view, "check_permissions"):
                    view.check_permissions(view.request)
                if method == "PUT" and has_object and hasattr(view, "get_object"):
                    view.get_object()
            except (exceptions.APIException, PermissionDenied, Http404):
                pass
            else:
                actions[method] = self.get_serializer_info(view.get_serializer())
            finally:
                view.request = request
        return actions
