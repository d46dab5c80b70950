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
    route names one; permissions are checked either way. The fields described
    are the ones a write takes (a viewset's get_input_serializer() when its
    answers are shaped by another serializer), read-only where they are."""

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
                get_input = getattr(view, "get_input_serializer", None)
                actions[method] = self.get_serializer_info(get_input() if get_input else view.get_serializer())
            finally:
                view.request = request
        return actions

    def get_serializer_info(self, serializer):
        """The write's fields, then the keys of the resource's representation
        it does not take (crm.serializers.StrictInputMixin.representation):
        read-only, accepted and ignored."""
        info = super().get_serializer_info(serializer)
        representation = getattr(serializer, "representation", None)
        if representation is not None:
            for name, field in representation().fields.items():
                if name not in info:
                    info[name] = {**self.get_field_info(field), "read_only": True, "required": False}
        return info
