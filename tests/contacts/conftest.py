"""Contact fixtures: rows are made through contacts.services, like the API does."""
import pytest

from contacts import services
from contacts.services import CustomFieldValue
from crm.models import Membership
from tags.models import Tag
from tests.crm.test_admin import admin_site_client  # noqa: F401  (a fixture, for test_admin)
from tests.factories import SYSTEM, actor_of


@pytest.fixture
def make_contact(api_client):
    """Makes a contact through contacts.services as `user` (default: the
    admin of api_client). `c_field` {shortName: value} is accepted as the API takes it."""

    def make(workspace=None, user=None, c_field=None, **values):
        workspace = workspace or api_client.workspace
        if c_field:
            values["custom_fields"] = [CustomFieldValue(key, value, "c_field") for key, value in c_field.items()]
        return services.contact_create(workspace=workspace, actor=actor_of(workspace, user or api_client.user), **values)

    return make


@pytest.fixture
def stage(api_client):
    return Tag.objects.create(workspace=api_client.workspace, tag="Qualified", type=Tag.Type.CLIENT_STAGE)


@pytest.fixture
def dropdown_field(api_client):
    return services.custom_field_create(
        workspace=api_client.workspace, actor=SYSTEM, label="drop", type="dropdown", options=["V1", "V2"]
    )


@pytest.fixture
def member(member_client):
    return member_client.user


@pytest.fixture
def second_member_client(client_for, workspace):
    return client_for(workspace, Membership.Role.MEMBER)
