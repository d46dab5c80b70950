import factory

from tags import services
from tags.models import Tag
from tests.factories import ServiceFactory, WorkspaceFactory


class TagFactory(ServiceFactory):
    class Meta:
        model = Tag

    workspace = factory.SubFactory(WorkspaceFactory)
    tag = factory.Sequence(lambda n: f"tag-{n}")
    type = Tag.Type.CLIENT

    @classmethod
    def create_with_service(cls, *, actor, workspace, **values):
        return services.tag_create(workspace=workspace, actor=actor, **values)
