import factory

from contacts import services
from contacts.models import Contact, CustomFieldDefinition
from tests.factories import ServiceFactory, WorkspaceFactory


class ContactFactory(ServiceFactory):
    """A contact made by contacts.services.contact_create; any ContactValues
    key may be passed (tags=[...], label_id=..., custom_fields=[...])."""

    class Meta:
        model = Contact

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Faker("first_name")
    surname = factory.Faker("last_name")

    @classmethod
    def create_with_service(cls, *, actor, workspace, **values):
        return services.contact_create(workspace=workspace, actor=actor, **values)


class CustomFieldFactory(ServiceFactory):
    class Meta:
        model = CustomFieldDefinition

    workspace = factory.SubFactory(WorkspaceFactory)
    label = factory.Sequence(lambda n: f"Field {n}")

    @classmethod
    def create_with_service(cls, *, actor, workspace, **values):
        return services.custom_field_create(workspace=workspace, actor=actor, **values)
