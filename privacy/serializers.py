from rest_framework import serializers

from crm.serializers import MAX_ID, ModelSerializer, Serializer, StrictBooleanField, StrictCharField

from contacts.serializers import ContactSerializer
from events.serializers import EventSerializer
from messaging.serializers import ConversationSerializer, MessageSerializer

from .models import ErasureReceipt
from .services import receipt_data


class ErasureRequestSerializer(Serializer):
    contact_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    email = StrictCharField(max_length=254, required=False)
    phone = StrictCharField(max_length=64, required=False, help_text="Any format; matched in E.164.")
    external_client_id = StrictCharField(max_length=255, required=False)
    suppress = StrictBooleanField(
        default=False, help_text="true: the person's identifiers go on the suppression list, and no import, upsert, "
                                 "batch, inbound message or notification may create them again (`suppressed`).")

    def validate(self, data):
        given = [k for k in ("contact_id", "email", "phone", "external_client_id") if data.get(k) not in (None, "")]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"contact_id": ["Give exactly one of contact_id, email, phone, external_client_id."]}, code="invalid")
        return data


class ErasedCountsSerializer(Serializer):
    contacts = serializers.IntegerField()
    conversations = serializers.IntegerField()
    messages = serializers.IntegerField()
    import_rows = serializers.IntegerField()


class ErasureReceiptSerializer(ModelSerializer):
    erased = serializers.SerializerMethodField()
    at = serializers.DateTimeField(source="created_at", read_only=True)
    by = serializers.PrimaryKeyRelatedField(source="created_by", read_only=True)

    class Meta:
        model = ErasureReceipt
        fields = ["id", "erased", "identifier", "suppress", "suppressed", "at", "by"]
        read_only_fields = fields

    def get_erased(self, receipt) -> ErasedCountsSerializer:
        return receipt_data(receipt)["erased"]


# -- a contact's data (response shape, for the schema) ----------------------------
class _ConversationWithMessages(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]
        ref_name = "ContactDataConversation"


class ContactImportRowSerializer(Serializer):
    job_id = serializers.IntegerField()
    row = serializers.IntegerField(help_text="Row number as a spreadsheet shows it (header = 1).")
    cells = serializers.ListField(child=serializers.CharField(), help_text="The row as it was in the file.")
    message = serializers.CharField(help_text="Why the import rejected it.")


class ContactDataSerializer(Serializer):
    id = serializers.IntegerField(help_text="The contact's id.")
    generated_at = serializers.DateTimeField()
    contact = ContactSerializer(help_text="Every field, custom fields and tags, as GET /contacts/{id}.")
    conversations = _ConversationWithMessages(many=True)
    history = EventSerializer(many=True, help_text="The contact's events, oldest first.")
    import_jobs = serializers.ListField(child=serializers.IntegerField(),
                                        help_text="Import jobs that wrote the contact (from its history).")
    import_rows = ContactImportRowSerializer(many=True, help_text="Rows of import error reports that name the "
                                                                  "contact's email, phone or external id.")
