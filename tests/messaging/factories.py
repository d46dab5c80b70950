import factory

from messaging import services
from messaging.models import Conversation, Integration, Message
from tests.contacts.factories import ContactFactory
from tests.factories import ServiceFactory, WorkspaceFactory


class IntegrationFactory(ServiceFactory):
    class Meta:
        model = Integration

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Channel {n}")
    provider = Integration.Provider.CONSOLE

    @classmethod
    def create_with_service(cls, *, actor, workspace, **values):
        return services.integration_create(workspace=workspace, actor=actor, **values)


class ConversationFactory(ServiceFactory):
    class Meta:
        model = Conversation

    workspace = factory.SubFactory(WorkspaceFactory)
    contact = factory.SubFactory(ContactFactory, workspace=factory.SelfAttribute("..workspace"))
    integration = factory.SubFactory(IntegrationFactory, workspace=factory.SelfAttribute("..workspace"))

    @classmethod
    def create_with_service(cls, *, actor, workspace, contact, integration):
        return services.conversation_create(
            workspace=workspace, actor=actor, contact_id=contact.pk, integration=integration
        )


class MessageFactory(ServiceFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    content = factory.Faker("sentence")
    type = Message.Type.TEXT

    @classmethod
    def create_with_service(cls, *, actor, conversation, **values):
        return services.message_add(workspace=conversation.workspace, actor=actor, conversation=conversation, **values)
