from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from crm.openapi import ErrorSerializer
from crm.permissions import IsWorkspaceAdmin
from crm.viewsets import WorkspaceViewSet

from contacts.models import Contact
from contacts.services import access

from . import selectors, services
from .models import ErasureReceipt
from .serializers import ContactDataSerializer, ErasureReceiptSerializer, ErasureRequestSerializer

TAGS = ["privacy"]


@extend_schema_view(
    list=extend_schema(operation_id="privacy_erasures_list", summary="List erasure receipts", tags=TAGS),
    retrieve=extend_schema(operation_id="privacy_erasures_retrieve", summary="Get an erasure receipt", tags=TAGS),
)
class ErasureViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """Erasure on request (workspace admins)."""

    queryset = ErasureReceipt.objects.all()
    serializer_class = ErasureReceiptSerializer
    permission_classes = [IsWorkspaceAdmin]
    filter_backends = []

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by").order_by("-id")

    @extend_schema(
        operation_id="privacy_erase", summary="Erase a person's data (and keep them from coming back)",
        description=(
            "Erases every contact the one identifier names (`contact_id`, `email`, `phone` in any format, or "
            "`external_client_id`; archived contacts too) with its conversations, messages and history (events "
            "keep only that it was erased), and removes the rows of stored import files and error reports that "
            "hold the person's email, phones or external id. With `suppress: true`, digests of those "
            "identifiers go on the suppression list: a later import, upsert, batch, inbound message or "
            "notification that would create the person is refused (`suppressed`). Answers 201 with a receipt "
            "that is kept (`GET /privacy/erasures/{id}`). Again: nothing more is erased, a receipt of zeros."
        ),
        request=ErasureRequestSerializer,
        responses={201: ErasureReceiptSerializer,
                   404: OpenApiResponse(ErrorSerializer, description="No contact with this `contact_id`.")},
        tags=TAGS,
    )
    def create(self, request):
        payload = ErasureRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        receipt = services.privacy_erase(workspace=self.workspace, actor=self.actor, **payload.validated_data)
        return Response(ErasureReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["contacts"])
class ContactDataViewSet(WorkspaceViewSet):
    """GET /contacts/{id}/data: everything stored about one contact, for a
    data request; who may read it follows the contact's visibility."""

    queryset = Contact.objects.all()
    filter_backends = []
    pagination_class = None

    def scope_queryset(self, queryset):
        return access.restrict(queryset, self.actor)

    @extend_schema(
        operation_id="contacts_data", summary="Everything stored about a contact (a data request)",
        description=(
            "One JSON document: the contact (every field, custom fields, tags), its conversations with their "
            "messages, its history (events, oldest first), the import jobs that wrote it and the rows of import "
            "error reports that hold its email, phone or external id. 404 for a contact you may not see."
        ),
        responses={200: ContactDataSerializer},
    )
    def retrieve(self, request, pk=None):
        return Response(selectors.contact_data(workspace=self.workspace, actor=self.actor, contact_id=pk))
