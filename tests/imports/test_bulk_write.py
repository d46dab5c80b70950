"""contacts.services.contacts_bulk_upsert directly (PostgreSQL path; the SQLite path runs in test_cli)."""
import pytest
from django.db import transaction

from tests.factories import actor_of
from contacts.services import contacts_bulk_upsert
from events.models import Event
from contacts.models import Contact, ContactTag
from labels.services import label_get_default
from tags.models import Tag


def test_upsert_creates_updates_and_stamps(workspace, admin_user, django_assert_max_num_queries):
    other_tag = Tag.objects.create(workspace=workspace, tag="old", type="client")
    vip = Tag.objects.create(workspace=workspace, tag="vip", type="client")
    existing = Contact.objects.create(workspace=workspace, name="Old", city="Lyon", email="o@x.co",
                                      external_client_id="e1", version=2)
    ContactTag.objects.create(contact=existing, tag=other_tag)
    default_label = label_get_default(workspace=workspace)
    rows = [
        {"external_client_id": "e1", "name": "New"},
        *({"name": f"N{i}", "external_client_id": f"n{i}"} for i in range(3)),
        {"name": "NoId"},
    ]
    # constant whatever the number of rows (5 of them the events': the tags' names twice, the old tag
    # names of replaced tags, the created rows' and the updated rows' events; 1 the suppression list's)
    with django_assert_max_num_queries(16):
        result = contacts_bulk_upsert(
            workspace=workspace, actor=actor_of(workspace, admin_user), rows=rows, tags=[[vip.pk], None, [vip.pk], None, [vip.pk]],
            defaults={"label_id": default_label.pk, "owner_id": admin_user.pk}, fields=["name", "city"],
        )
    assert (result.created, result.updated) == (4, 1)
    existing.refresh_from_db()
    assert (existing.name, existing.city, existing.email, existing.version) == ("New", "Lyon", "o@x.co", 3)
    assert existing.updated_by == admin_user and existing.label_id is None, "columns not imported are untouched"
    assert list(existing.tags.values_list("tag", flat=True)) == ["vip"], "a non-empty tag list replaces"
    created = Contact.objects.exclude(pk=existing.pk)
    assert created.count() == 4
    assert all(c.version == 1 and c.created_by == admin_user and c.owner == admin_user and c.label == default_label
               and c.created_at == c.updated_at for c in created)
    assert Contact.objects.get(name="NoId").tags.get() == vip
    assert Contact.objects.get(name="N1").tags.get() == vip


def test_new_rows_take_one_copy_and_one_statement(workspace, admin_user, django_assert_max_num_queries):
    """Rows whose external id is free: the server fills in every column the
    rows do not carry (defaults, stamps, JSON defaults) and links their tags."""
    vip = Tag.objects.create(workspace=workspace, tag="vip", type="client")
    lead = Tag.objects.create(workspace=workspace, tag="lead", type="client")
    default_label = label_get_default(workspace=workspace)
    rows = [{"name": f"N{i}", "external_client_id": f"x{i}", "city": "Oslo"} for i in range(50)] + [{"name": "Solo"}]
    tags = [[vip.pk, lead.pk] if i % 2 else None for i in range(50)] + [[lead.pk]]
    # the suppression list, stage, COPY, insert + link, the tags' names, the events' INSERT ... SELECT
    # (one for any count)
    with django_assert_max_num_queries(6):
        result = contacts_bulk_upsert(workspace=workspace, actor=actor_of(workspace, admin_user), rows=rows, tags=tags,
                                      defaults={"label_id": default_label.pk, "owner_id": admin_user.pk},
                                      fields=["name", "city", "external_client_id"])
    assert (result.created, result.updated) == (51, 0)
    created = Contact.objects.filter(workspace=workspace).order_by("id")
    assert [c.name for c in created] == [f"N{i}" for i in range(50)] + ["Solo"], "ids follow the rows' order"
    solo = created.last()
    assert (solo.external_client_id, solo.city, solo.email, solo.type, solo.visibility_type) == (
        None, "", "", Contact._meta.get_field("type").get_default(),
        Contact._meta.get_field("visibility_type").get_default())
    assert (solo.visibility_ids, solo.custom_fields, solo.version, solo.label, solo.owner, solo.created_by) == (
        [], {}, 1, default_label, admin_user, admin_user)
    assert set(Contact.objects.get(name="N1").tags.values_list("tag", flat=True)) == {"vip", "lead"}
    assert not Contact.objects.get(name="N0").tags.exists()
    assert list(solo.tags.values_list("tag", flat=True)) == ["lead"]
    assert ContactTag.objects.count() == 25 * 2 + 1
    created_events = Event.objects.filter(workspace=workspace, type="contact.created").order_by("subject_id")
    assert [e.subject_id for e in created_events] == [c.pk for c in created]
    assert created_events[1].payload == {"contact": {"name": "N1", "city": "Oslo", "external_client_id": "x1",
                                                     "tags": ["lead", "vip"], "label_id": default_label.pk,
                                                     "owner_id": admin_user.pk}}


def test_two_calls_in_one_transaction_and_unknown_columns(workspace, admin_user):
    with transaction.atomic():
        contacts_bulk_upsert(workspace=workspace, actor=actor_of(workspace, admin_user), rows=[{"name": "A", "external_client_id": "a"}])
        result = contacts_bulk_upsert(workspace=workspace, actor=actor_of(workspace, admin_user),
                                      rows=[{"name": "A2", "external_client_id": "a"}, {"name": "B"}], fields=["name"])
    assert (result.created, result.updated) == (1, 1), "the first call's staged rows are not written again"
    assert sorted(Contact.objects.values_list("name", flat=True)) == ["A2", "B"]
    with pytest.raises(ValueError, match="deleted_at"):
        contacts_bulk_upsert(workspace=workspace, actor=actor_of(workspace, admin_user), rows=[{"name": "C", "deleted_at": None}])
