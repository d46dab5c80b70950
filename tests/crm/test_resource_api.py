"""API tokens through the shared resource tests (tests/resources.py)."""
from crm import services
from crm.models import ApiToken, Membership
from tests.factories import SYSTEM, MembershipFactory, UserFactory
from tests.resources import APIResourceTests


class TestApiTokenResource(APIResourceTests):
    model = ApiToken
    list_url = "/v1/crm/tokens"
    detail_url = "/v1/crm/tokens/{obj.pk}"
    retrieve = False  # a token is listed, issued and revoked
    delete_status = 200  # revokes, answering the revoked token
    admin_only_writes = True
    admin_only_reads = True

    def make(self, workspace):
        user = UserFactory()
        MembershipFactory(workspace=workspace, user=user, role=Membership.Role.MEMBER)
        token, _ = services.token_create(workspace=workspace, actor=SYSTEM, user=user, name="made")
        return token

    def create_payload(self, workspace):
        return {"name": "ci"}

    def assert_deleted(self, obj):
        assert self.reread(obj).revoked_at is not None
