"""factory_boy factories shared by every app's tests."""
import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from crm import services
from crm.models import Membership, Workspace

User = get_user_model()


class WorkspaceFactory(factory.django.DjangoModelFactory):
    """Goes through crm.services.workspace_create so defaults (labels) exist."""

    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")
    default_phone_region = "US"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.workspace_create(**kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Membership.Role.MEMBER


def make_token(workspace, user, **kwargs):
    """Returns the plaintext of a new token, marked as recently used so the
    throttled last_used_at write does not show up in query counts."""
    token, plaintext = services.token_create(workspace=workspace, user=user, name=kwargs.pop("name", "test"), **kwargs)
    token.last_used_at = timezone.now()
    token.save(update_fields=["last_used_at"])
    return plaintext
