import django_filters

from .models import Conversation, Message


class ConversationFilter(django_filters.FilterSet):
    contact_id = django_filters.NumberFilter(field_name="contact_id", help_text="Conversations of this contact.")
    integration_id = django_filters.NumberFilter(field_name="integration_id", help_text="Conversations on this integration.")
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
