import factory

from labels import services
from labels.models import ContactLabel
from tests.factories import ServiceFactory, WorkspaceFactory


class LabelFactory(ServiceFactory):
    class Meta:
        model = ContactLabel

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Label {n}")
    color = "blue"

    @classmethod
    def create_with_service(cls, *, actor, workspace, **values):
        return services.label_create(workspace=workspace, actor=actor, **values)
