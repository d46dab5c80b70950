"""The label services other apps call: defaults, default label, names lookup, delete."""
import pytest
from crm.errors import ValidationFailed as ValidationError

from contacts.models import Contact
from crm.errors import Conflict
from labels import selectors, services
from labels.models import ContactLabel
from tests.factories import SYSTEM, WorkspaceFactory

pytestmark = pytest.mark.django_db

EXPECTED = [
    ("No label", "", "", True),
    ("Cold lead", "blue", "ac_unit", False),
    ("Warm lead", "orange", "brightness_low", False),
    ("Hot lead", "deep-orange", "whatshot", False),
]


def test_new_workspace_gets_the_four_default_labels():
    workspace = WorkspaceFactory()
    labels = ContactLabel.objects.filter(workspace=workspace).order_by("id")
    assert [(l.name, l.color, l.icon, l.is_default) for l in labels] == EXPECTED


def test_defaults_are_idempotent():
    workspace = WorkspaceFactory()
    services.labels_create_defaults(workspace=workspace)
    assert ContactLabel.objects.filter(workspace=workspace).count() == 4


def test_label_get_default(django_assert_num_queries):
    workspace = WorkspaceFactory()
    with django_assert_num_queries(1):
        label = services.label_get_default(workspace=workspace)
    assert label.name == "No label" and label.is_default and label.workspace_id == workspace.id


def test_label_get_default_recreates_a_missing_default():
    workspace = WorkspaceFactory()
    ContactLabel.objects.filter(workspace=workspace).delete()
    label = services.label_get_default(workspace=workspace)
    assert label.is_default and ContactLabel.objects.filter(workspace=workspace).count() == 4


def test_label_get_by_names_is_case_insensitive_and_scoped(django_assert_num_queries):
    workspace, other = WorkspaceFactory(), WorkspaceFactory()
    with django_assert_num_queries(1):
        found = selectors.label_get_by_names(workspace=workspace, names=["HOT LEAD", " cold lead ", "nope"])
    assert set(found) == {"hot lead", "cold lead"}
    assert all(label.workspace_id == workspace.id for label in found.values())
    assert found["hot lead"].name == "Hot lead"
    assert other.id != workspace.id
    with django_assert_num_queries(0):
        assert selectors.label_get_by_names(workspace=workspace, names=[]) == {}


def test_create_duplicate_name_case_insensitive_is_a_field_error():
    workspace = WorkspaceFactory()
    with pytest.raises(ValidationError) as exc:
        services.label_create(workspace=workspace, actor=SYSTEM, name="hot LEAD")
    assert exc.value.field == "name"


def test_delete_moves_contacts_to_default_in_one_transaction():
    workspace = WorkspaceFactory()
    hot = ContactLabel.objects.get(workspace=workspace, name="Hot lead")
    contacts = [Contact.objects.create(workspace=workspace, name=f"c{i}", label=hot) for i in range(3)]
    moved = services.label_delete(workspace=workspace, actor=SYSTEM, label=hot)
    assert moved == 3
    default = services.label_get_default(workspace=workspace)
    for contact in contacts:
        contact.refresh_from_db()
        assert contact.label_id == default.id
        assert contact.version == 2
    assert not ContactLabel.objects.filter(pk=hot.pk).exists()


def test_default_label_cannot_be_deleted():
    workspace = WorkspaceFactory()
    default = services.label_get_default(workspace=workspace)
    with pytest.raises(Conflict):
        services.label_delete(workspace=workspace, actor=SYSTEM, label=default)
    assert ContactLabel.objects.filter(pk=default.pk).exists()


def test_delete_locks_the_label_before_moving_contacts(django_assert_num_queries):
    workspace = WorkspaceFactory()
    hot = ContactLabel.objects.get(workspace=workspace, name="Hot lead")
    # savepoint, lock, default, the moving contacts (for their events), move, the label.deleted event,
    # collector, delete, release
    with django_assert_num_queries(9) as ctx:
        services.label_delete(workspace=workspace, actor=SYSTEM, label=hot)
    assert "FOR UPDATE" in ctx.captured_queries[1]["sql"]


def test_label_get_by_names_agrees_with_python_lower():
    """Callers key by Python's lower(); PostgreSQL's differs for a final sigma."""
    workspace = WorkspaceFactory()
    greek = ContactLabel.objects.create(workspace=workspace, name="ΣΑΣ")
    found = selectors.label_get_by_names(workspace=workspace, names=["ΣΑΣ"])
    assert found["ΣΑΣ".lower()] == greek
