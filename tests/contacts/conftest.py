"""Contact fixtures: rows are made through contacts.services, like the API does."""
import pytest

from contacts import services
from crm.models import Membership
from tags.models import Tag
from tests.crm.test_admin import admin_site_client  # noqa: F401  (a fixture, for test_admin)


@pytest.fixture
def make_contact(api_client):
    def make(workspace=None, user=None, **data):
        return services.contact_create(
            workspace=workspace or api_client.workspace, user=user or api_client.user, data=data
        )

    return make


@pytest.fixture
def stage(api_client):
    return Tag.objects.create(workspace=api_client.workspace, tag="Qualified", type=Tag.Type.CLIENT_STAGE)


@pytest.fixture
def dropdown_field(api_client):
    return services.custom_field_create(
        workspace=api_client.workspace, user=api_client.user, label="drop", type="dropdown", options=["V1", "V2"]
    )


@pytest.fixture
def member(member_client):
    return member_client.user


@pytest.fixture
def second_member_client(client_for, workspace):
    return client_for(workspace, Membership.Role.MEMBER)
