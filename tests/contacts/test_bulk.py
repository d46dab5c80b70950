"""PATCH /contacts (bulk), POST /contacts/multiple, PUT /contacts/upsert,
including the threaded upsert race on PostgreSQL."""
import threading

import pytest
from django.db import connection

from contacts import services
from contacts.services import lifecycle
from crm.errors import Conflict
from contacts.models import Contact, ContactTag
from labels.models import ContactLabel
from tags.models import Tag
from tests.factories import SYSTEM, actor_of

URL = "/v1/crm/contacts"


@pytest.fixture
def three(make_contact):
    return [make_contact(name=f"C{i}", tags=["keep"]) for i in range(3)]


def test_bulk_update_scalars_and_tags(api_client, three, member, stage):
    label = ContactLabel.objects.get(workspace=api_client.workspace, name="Hot lead")
    ids = [c.id for c in three[:2]]
    response = api_client.patch(URL, {
        "ids": ids, "label_id": label.id, "owner_id": member.id, "visibility_type": "private",
        "visibility_ids": [member.id], "stage_id": stage.id, "tags_add": ["new", "Keep"], "tags_remove": [],
    }, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"updated": 2}
    for contact in Contact.objects.filter(pk__in=ids):
        assert (contact.label_id, contact.owner_id, contact.visibility_type, contact.stage_id) == (
            label.id, member.id, "private", stage.id
        )
        assert contact.visibility_ids == [member.id] and contact.version == 2
        assert contact.updated_by_id == api_client.user.id
        assert sorted(contact.tags.values_list("tag", flat=True)) == ["keep", "new"]
    untouched = Contact.objects.get(pk=three[2].pk)
    assert untouched.version == 1 and untouched.visibility_type == "public"

    response = api_client.patch(URL, {"ids": ids, "tags_remove": ["KEEP"]}, format="json")
    assert response.status_code == 200
    assert set(ContactTag.objects.filter(contact_id__in=ids).values_list("tag__tag", flat=True)) == {"new"}
    assert ContactTag.objects.filter(contact_id=three[2].id, tag__tag="keep").exists()


def test_bulk_seed_sample_zero_ids_leave_fields(api_client, three):
    """Seed 003 sample: label_id 0 and owner_id 0 are Deskera's "not set"."""
    before = {c.id: (c.label_id, c.owner_id) for c in three}
    response = api_client.patch(URL, {"ids": [three[0].id, three[1].id], "label_id": 0, "owner_id": 0,
                                      "visibility_type": "team"}, format="json")
    assert response.status_code == 200
    for contact in Contact.objects.filter(pk__in=[three[0].id, three[1].id]):
        assert contact.visibility_type == "team" and (contact.label_id, contact.owner_id) == before[contact.id]


def test_bulk_unknown_ids_404_and_nothing_changes(api_client, three, other_client):
    foreign = services.contact_create(workspace=other_client.workspace, actor=actor_of(other_client.workspace, other_client.user), name="F")
    response = api_client.patch(URL, {"ids": [three[0].id, 10**9, foreign.id], "visibility_type": "team"}, format="json")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found" and body["ids"] == sorted([10**9, foreign.id])
    assert Contact.objects.get(pk=three[0].id).visibility_type == "public"
    assert Contact.objects.get(pk=foreign.id).version == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"ids": [], "visibility_type": "team"}, "ids"),
        ({"ids": "1,2", "visibility_type": "team"}, "ids"),
        ({"ids": ["x"], "visibility_type": "team"}, "ids.0"),
        ({"ids": [5, True], "visibility_type": "team"}, "ids.1"),
        ({"ids": [5, 6, 0], "visibility_type": "team"}, "ids.2"),
        ({"ids": [2**63], "visibility_type": "team"}, "ids.0"),
        ({"ids": [5, 1.5], "visibility_type": "team"}, "ids.1"),
        ({"ids": list(range(1, 10_002)), "visibility_type": "team"}, "ids"),
        ({"visibility_type": "team"}, "ids"),
        ({"ids": [1], "visibility_type": "nobody"}, "visibility_type"),
        ({"ids": [1], "tags_add": "x"}, "tags_add"),
    ],
)
def test_bulk_validation(api_client, body, field):
    response = api_client.patch(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field


def test_bulk_rule_errors(api_client, three, other_client):
    ids = [c.id for c in three]
    nothing = api_client.patch(URL, {"ids": ids}, format="json")
    assert nothing.status_code == 400
    both = api_client.patch(URL, {"ids": ids, "tags_add": ["a"], "tags_remove": ["A"]}, format="json")
    assert both.status_code == 400 and both.json()["errors"][0]["field"] == "tags_remove"
    foreign_owner = api_client.patch(URL, {"ids": ids, "owner_id": other_client.user.id}, format="json")
    assert foreign_owner.status_code == 400 and foreign_owner.json()["errors"][0]["field"] == "owner_id"
    assert not Tag.objects.filter(workspace=api_client.workspace, tag="a").exists()
    assert all(c.version == 1 for c in Contact.objects.filter(pk__in=ids))


def test_bulk_ten_thousand(api_client, make_contact):
    contact = make_contact(name="x")
    rows = Contact.objects.bulk_create([
        Contact(workspace=api_client.workspace, name=f"n{i}", label_id=contact.label_id) for i in range(9_999)
    ])
    ids = [contact.id] + [c.id for c in rows]
    response = api_client.patch(URL, {"ids": ids, "visibility_type": "team", "tags_add": ["bulk"]}, format="json")
    assert response.status_code == 200 and response.json() == {"updated": 10_000}
    assert Contact.objects.filter(visibility_type="team").count() == 10_000
    assert ContactTag.objects.filter(tag__tag="bulk").count() == 10_000


def test_multiple_in_request_order(api_client, three):
    a, b, c = three
    response = api_client.post(f"{URL}/multiple", {"contact_ids": [c.id, a.id, 10**9, c.id, b.id]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert [item["id"] for item in body] == [c.id, a.id, b.id]
    assert body[0]["tags"] == ["keep"]


def test_multiple_validation(api_client):
    assert api_client.post(f"{URL}/multiple", {"contact_ids": list(range(1, 1002))}, format="json").status_code == 400
    assert api_client.post(f"{URL}/multiple", {"contact_ids": "1,2"}, format="json").status_code == 400
    wrong_item = api_client.post(f"{URL}/multiple", {"contact_ids": [1, -1]}, format="json")
    assert wrong_item.status_code == 400 and wrong_item.json()["errors"][0]["field"] == "contact_ids.1"
    assert api_client.post(f"{URL}/multiple", {}, format="json").status_code == 400
    assert api_client.post(f"{URL}/multiple", {"contact_ids": []}, format="json").json() == []


def test_upsert_creates_then_updates(api_client, member):
    body = {"external_client_id": "+12025550123", "phone": "+12025550123", "name": "First", "tags": ["wa"]}
    created = api_client.put(f"{URL}/upsert", body, format="json")
    assert created.status_code == 201, created.content
    assert created["ETag"] == f'"{created.json()["id"]}-1"'
    updated = api_client.put(f"{URL}/upsert", {"external_client_id": "+12025550123", "surname": "Second",
                                               "default_agent_id": member.id}, format="json")
    assert updated.status_code == 200, updated.content
    data = updated.json()
    assert data["id"] == created.json()["id"] and data["version"] == 2
    assert data["name"] == "First" and data["surname"] == "Second" and data["tags"] == ["wa"]
    assert data["default_agent_id"] == member.id
    assert Contact.objects.filter(workspace=api_client.workspace).count() == 1


def test_upsert_restores_an_archived_contact(api_client):
    created = api_client.put(f"{URL}/upsert", {"external_client_id": "ext-1", "name": "Old"}, format="json").json()
    assert api_client.delete(f"{URL}/{created['id']}").json()["deleted_at"] is not None
    response = api_client.put(f"{URL}/upsert", {"external_client_id": "ext-1", "name": "Back"}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["id"] == created["id"] and data["name"] == "Back"
    assert data["deleted_at"] is None and data["archived_by"] == ""
    assert [c["id"] for c in api_client.get(URL).json()["data"]] == [created["id"]]


def test_upsert_requires_external_id(api_client):
    for body in ({"name": "x"}, {"name": "x", "external_client_id": ""}, {"external_client_id": 5}):
        response = api_client.put(f"{URL}/upsert", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["field"] == "external_client_id"


def test_upsert_service_from_messaging_shape(api_client):
    """Messaging calls the service with a raw phone and no role."""
    contact, created = services.contact_upsert(
        workspace=api_client.workspace, actor=SYSTEM, external_client_id="+447946000958", phone="+44 7946 000958")
    assert created and contact.phone == "+447946000958" and contact.owner_id is None
    again, created = services.contact_upsert(
        workspace=api_client.workspace, actor=SYSTEM, external_client_id="+447946000958", phone="+447946000958")
    assert not created and again.pk == contact.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_make_one_contact(workspace, monkeypatch):
    # Every thread looks the id up before any of them inserts: the gate holds
    # each one at the start of the insert until all have arrived, so the
    # losers really hit the unique violation. `races` counts those, to prove it.
    workers = 8
    gate = threading.Barrier(workers)
    races = []
    real_save, real_insert = lifecycle._save, lifecycle._insert

    def gated_insert(*args, **kwargs):
        gate.wait(timeout=60)
        return real_insert(*args, **kwargs)

    def counting_save(contact, **kwargs):
        try:
            return real_save(contact, **kwargs)
        except Conflict:
            races.append(contact.external_client_id)
            raise

    monkeypatch.setattr(lifecycle, "_save", counting_save)
    monkeypatch.setattr(lifecycle, "_insert", gated_insert)
    barrier = threading.Barrier(workers)
    results, errors = [], []

    def run(i):
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            contact, created = services.contact_upsert(
                workspace=workspace, actor=SYSTEM, external_client_id="race-1", name=f"T{i}")
            results.append((contact.pk, created))
        except Exception as exc:  # noqa: BLE001 - a thread's failure is reported by the assert below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert Contact.objects.filter(workspace=workspace, external_client_id="race-1").count() == 1
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(races) == workers - 1, "every loser must have hit the unique violation"
    # every loser updated the winner's row: one version per call
    assert Contact.objects.get(workspace=workspace, external_client_id="race-1").version == workers


def test_bulk_references_must_be_the_workspaces(api_client, three, other_client):
    from labels.services import label_get_default

    ids = [c.id for c in three]
    other_label = label_get_default(workspace=other_client.workspace)
    other_stage = Tag.objects.create(workspace=other_client.workspace, tag="S", type=Tag.Type.CLIENT_STAGE)
    not_a_stage = Tag.objects.create(workspace=api_client.workspace, tag="vip", type=Tag.Type.CLIENT)
    for body, field in [
        ({"label_id": other_label.id}, "label_id"),
        ({"stage_id": other_stage.id}, "stage_id"),
        ({"stage_id": not_a_stage.id}, "stage_id"),
        ({"visibility_ids": [other_client.user.id]}, "visibility_ids"),
    ]:
        response = api_client.patch(URL, {"ids": ids, **body}, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["errors"][0]["field"] == field
    assert all(c.version == 1 for c in Contact.objects.filter(pk__in=ids))
