"""Tags through the shared resource tests (tests/resources.py)."""
from tags.models import Tag
from tests.resources import APIResourceTests, Bulk

from .factories import TagFactory


class TestTagResource(APIResourceTests):
    model = Tag
    list_url = "/v1/crm/tags"
    detail_url = "/v1/crm/tags/{obj.pk}"
    update_payload = {"description": "changed"}
    put = True
    bulk = Bulk(
        payload=lambda tags: {"patches": [{"id": t.pk, "order": 7} for t in tags]},
        changed=lambda tag: tag.order == 7,
    )

    def make(self, workspace):
        return TagFactory(workspace=workspace)

    def create_payload(self, workspace):
        return {"type": "client", "tag": "created"}
