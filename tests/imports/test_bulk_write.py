"""contacts.bulk_write directly (PostgreSQL path; the SQLite path runs in test_cli)."""
from contacts.bulk_write import contacts_bulk_upsert
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
    with django_assert_max_num_queries(10):  # constant whatever the number of rows
        result = contacts_bulk_upsert(
            workspace=workspace, user=admin_user, rows=rows, tags=[[vip.pk], None, [vip.pk], None, [vip.pk]],
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
