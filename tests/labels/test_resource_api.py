"""Contact labels through the shared resource tests (tests/resources.py)."""
from labels.models import ContactLabel
from tests.resources import APIResourceTests

from .factories import LabelFactory


class TestContactLabelResource(APIResourceTests):
    model = ContactLabel
    list_url = "/v1/crm/contacts/labels"  # a bare array, not paginated
    detail_url = "/v1/crm/contacts/labels/{obj.pk}"
    update_payload = {"name": "Renamed"}
    put = True

    def make(self, workspace):
        return LabelFactory(workspace=workspace)

    def create_payload(self, workspace):
        return {"name": "Created label", "color": "green"}
