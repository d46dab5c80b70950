"""factory_boy factories of the core, shared by every app's tests (each
app's own are in tests/<app>/factories.py), and the actors tests write as."""
import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from crm import services
from crm.actors import Actor
from crm.models import Membership, Workspace

User = get_user_model()

# What tests write as when the actor does not matter (setup rows).
SYSTEM = Actor.system("tests")


def actor_of(workspace, user) -> Actor:
    """The member `user` of `workspace`, with their role; the system for None."""
    if user is None:
        return SYSTEM
    role = Membership.objects.filter(workspace=workspace, user=user).values_list("role", flat=True).first()
    return Actor.member(user, role) if role else Actor.staff(user)


class ServiceFactory(factory.django.DjangoModelFactory):
    """Creates rows through the app's service, as `actor` (default: the
    system), so tests build the same rows the API would."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, actor=None, **kwargs):
        return cls.create_with_service(actor=actor or SYSTEM, **kwargs)

    @classmethod
    def create_with_service(cls, *, actor, **kwargs):
        raise NotImplementedError


class WorkspaceFactory(ServiceFactory):
    """Goes through crm.services.workspace_create so defaults (labels) exist."""

    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")
    default_phone_region = "US"

    @classmethod
    def create_with_service(cls, *, actor, **kwargs):
        return services.workspace_create(actor=actor, **kwargs)


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
    token, plaintext = services.token_create(
        workspace=workspace, actor=SYSTEM, user=user, name=kwargs.pop("name", "test"), **kwargs
    )
    token.last_used_at = timezone.now()
    token.save(update_fields=["last_used_at"])
    return plaintext
