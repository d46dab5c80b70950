"""The base viewset is the one place tenancy is enforced; it cannot be bypassed."""
import pytest

from crm.models import ApiToken
from crm.viewsets import WorkspaceModelViewSet, WorkspaceViewSet


def test_subclass_overriding_get_queryset_is_refused():
    with pytest.raises(TypeError, match="scope_queryset"):

        class Leaky(WorkspaceViewSet):
            queryset = ApiToken.objects.all()

            def get_queryset(self):
                return ApiToken.objects.all()


def test_grandchild_overriding_get_queryset_is_refused():
    class Fine(WorkspaceModelViewSet):
        queryset = ApiToken.objects.all()

    with pytest.raises(TypeError):

        class Leaky(Fine):
            def get_queryset(self):
                return ApiToken.objects.all()


def test_mixin_providing_get_queryset_is_refused():
    class AllRowsMixin:
        def get_queryset(self):
            return ApiToken.objects.all()

    with pytest.raises(TypeError):

        class Leaky(AllRowsMixin, WorkspaceModelViewSet):
            queryset = ApiToken.objects.all()


def test_scope_queryset_is_the_supported_hook():
    class Narrowed(WorkspaceModelViewSet):
        queryset = ApiToken.objects.all()

        def scope_queryset(self, queryset):
            return queryset.filter(revoked_at__isnull=True)

    assert Narrowed.get_queryset is WorkspaceViewSet.get_queryset

