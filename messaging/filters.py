import django_filters
from django import forms

from crm.filters import DocumentedFilter
from crm.serializers import MAX_ID

from .models import Conversation, Message


class IdFilter(DocumentedFilter):
    """A positive bigint id; anything else is a 400 naming the parameter."""

    schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class ConversationFilter(django_filters.FilterSet):
    contact_id = IdFilter(field_name="contact_id", help_text="Conversations of this contact.")
    integration_id = IdFilter(
        field_name="integration_id", help_text="Conversations on this integration."
    )
    status = django_filters.ChoiceFilter(choices=Conversation.Status.choices)

    class Meta:
        model = Conversation
        fields = ["contact_id", "integration_id", "status"]


class MessageFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Message.Type.choices)
    status = django_filters.ChoiceFilter(choices=Message.Status.choices)

    class Meta:
        model = Message
        fields = ["type", "status"]
