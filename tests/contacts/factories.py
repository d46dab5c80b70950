import factory

from contacts import services
from contacts.models import Contact, ContactView, CustomFieldDefinition
from crm.models import Membership
from tests.factories import MembershipFactory, ServiceFactory, UserFactory, WorkspaceFactory, actor_of


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


class ContactViewFactory(ServiceFactory):
    """A saved view made by contacts.services.view_create, owned by `owner`
    (default: a new admin of the workspace); shared unless told otherwise."""

    class Meta:
        model = ContactView

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"View {n}")
    shared = True

    @classmethod
    def create_with_service(cls, *, actor, workspace, owner=None, **values):
        if owner is None:
            owner = UserFactory()
            MembershipFactory(workspace=workspace, user=owner, role=Membership.Role.ADMIN)
        return services.view_create(workspace=workspace, actor=actor_of(workspace, owner), **values)
