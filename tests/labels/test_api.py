"""The contact label endpoints (seed 003): /v1/crm/contacts/labels[/{id}]."""
import importlib

import pytest
from django.apps import apps as django_apps

from contacts.models import Contact
from crm.models import Workspace
from labels import services
from labels.models import ContactLabel
from tests.factories import UserFactory
from tests.crm.test_errors import assert_error as _assert_error
from tests.tenancy import assert_tenant_isolated

pytestmark = pytest.mark.django_db

URL = "/v1/crm/contacts/labels"
SEED_CREATE = {"name": "Test Label", "color": "green", "icon": "fiber_manual_record"}
SEED_UPDATE = {"name": "Test Label12", "color": "green", "icon": "fiber_manual_record"}


def detail(label_or_id):
    return f"{URL}/{getattr(label_or_id, 'pk', label_or_id)}"


def assert_error(response, status, code=None, field=None):
    body = _assert_error(response, status, code)
    if field:
        assert body["errors"][0]["field"] == field, body
    return body


def label(workspace, name):
    return ContactLabel.objects.get(workspace=workspace, name=name)


# -- list ---------------------------------------------------------------------
def test_list_is_a_bare_array_of_the_seed_defaults(api_client, workspace):
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert [{k: item[k] for k in ("name", "color", "icon")} for item in body] == [
        {"name": "No label", "color": "", "icon": ""},
        {"name": "Cold lead", "color": "blue", "icon": "ac_unit"},
        {"name": "Warm lead", "color": "orange", "icon": "brightness_low"},
        {"name": "Hot lead", "color": "deep-orange", "icon": "whatshot"},
    ]
    first = body[0]
    assert set(first) >= {"id", "name", "color", "icon", "owner_id", "tenant_id", "created_at", "updated_at"}
    assert first["tenant_id"] == workspace.id and first["owner_id"] is None and first["is_default"] is True
    assert [item["is_default"] for item in body[1:]] == [False, False, False]


def test_list_query_count_is_constant(api_client, workspace, django_assert_num_queries):
    with django_assert_num_queries(2):  # token + labels
        api_client.get(URL)
    for i in range(30):
        ContactLabel.objects.create(workspace=workspace, name=f"L{i}", owner=api_client.user)
    with django_assert_num_queries(2):
        assert len(api_client.get(URL).json()) == 34


def test_member_can_read_and_write(member_client):
    assert member_client.get(URL).status_code == 200
    assert member_client.post(URL, SEED_CREATE).status_code == 201


def test_unauthenticated_is_401(anon_client, workspace):
    assert_error(anon_client.get(URL), 401)
    assert_error(anon_client.post(URL, SEED_CREATE), 401)
    assert_error(anon_client.get(detail(label(workspace, "Hot lead"))), 401)


def test_labels_route_wins_over_contact_detail(api_client, workspace):
    hot = label(workspace, "Hot lead")
    assert api_client.get(detail(hot)).json()["name"] == "Hot lead"


# -- create -------------------------------------------------------------------
def test_create_seed_sample(api_client, workspace):
    response = api_client.post(URL, SEED_CREATE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert isinstance(body["id"], int)
    assert {k: body[k] for k in SEED_CREATE} == SEED_CREATE
    assert body["tenant_id"] == workspace.id and body["owner_id"] == api_client.user.id
    assert body["is_default"] is False
    saved = ContactLabel.objects.get(pk=body["id"])
    assert saved.workspace_id == workspace.id and saved.created_by_id == api_client.user.id
    assert saved.name == "Test Label"


def test_create_with_owner_zero_means_no_owner(api_client):
    body = api_client.post(URL, {**SEED_CREATE, "owner_id": 0}).json()
    assert body["owner_id"] is None


def test_create_with_owner_of_the_workspace(api_client, client_for, workspace):
    colleague = client_for(workspace).user
    body = api_client.post(URL, {**SEED_CREATE, "owner_id": colleague.id}).json()
    assert body["owner_id"] == colleague.id


def test_create_with_owner_not_a_member_is_400(api_client, other_client):
    for owner in (other_client.user.id, UserFactory().id, 99999999, "abc"):
        assert_error(api_client.post(URL, {**SEED_CREATE, "owner_id": owner}), 400, field="owner_id")
    assert not ContactLabel.objects.filter(name="Test Label").exists()


@pytest.mark.parametrize("name", ["hot lead", "HOT LEAD", " Hot lead "])
def test_create_duplicate_name_any_case_is_400(api_client, workspace, name):
    body = assert_error(api_client.post(URL, {"name": name}), 400, "unique", "name")
    assert "already exists" in body["message"]
    assert ContactLabel.objects.filter(workspace=workspace).count() == 4


def test_create_duplicate_that_slips_past_the_check_is_400_not_500(api_client, workspace, monkeypatch):
    """A concurrent request can insert the same name after our check: the
    unique constraint then answers, and it must still be a 400."""
    monkeypatch.setattr(services, "_name_taken", lambda **kwargs: False)
    assert_error(api_client.post(URL, {"name": "WARM LEAD"}), 400, "unique", "name")
    assert ContactLabel.objects.filter(workspace=workspace).count() == 4
    assert api_client.get(URL).status_code == 200  # the transaction is still usable


def test_same_name_in_another_workspace_is_fine(api_client, other_client):
    assert api_client.post(URL, SEED_CREATE).status_code == 201
    assert other_client.post(URL, SEED_CREATE).status_code == 201


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": {"a": 1}}, "name"),
        ({"name": "ok", "color": "c" * 51}, "color"),
        ({"name": "ok", "icon": ["a"]}, "icon"),
    ],
)
def test_create_invalid_is_400(api_client, workspace, payload, field):
    assert_error(api_client.post(URL, payload), 400, field=field)
    assert ContactLabel.objects.filter(workspace=workspace).count() == 4


def test_create_malformed_json_is_400(api_client):
    response = api_client.post(URL, data='{"name": ', content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_read_only_fields_are_ignored(api_client, workspace, other_workspace):
    body = api_client.post(URL, {"name": "X", "is_default": True, "tenant_id": other_workspace.id}).json()
    assert body["is_default"] is False and body["tenant_id"] == workspace.id
    assert ContactLabel.objects.filter(workspace=workspace, is_default=True).count() == 1


# -- retrieve / update --------------------------------------------------------
def test_retrieve(api_client, workspace):
    default = label(workspace, "No label")
    body = api_client.get(detail(default)).json()
    assert body["id"] == default.id and body["name"] == "No label" and body["color"] == "" and body["icon"] == ""


def test_retrieve_unknown_is_404(api_client):
    assert_error(api_client.get(detail(99999999)), 404, "not_found")


def test_put_seed_sample(api_client, workspace):
    hot = label(workspace, "Hot lead")
    response = api_client.put(detail(hot), SEED_UPDATE)
    assert response.status_code == 200, response.content
    assert {k: response.json()[k] for k in SEED_UPDATE} == SEED_UPDATE
    hot.refresh_from_db()
    assert (hot.name, hot.color, hot.icon) == ("Test Label12", "green", "fiber_manual_record")
    assert hot.updated_by_id == api_client.user.id


def test_put_requires_name(api_client, workspace):
    hot = label(workspace, "Hot lead")
    assert_error(api_client.put(detail(hot), {"color": "green"}), 400, field="name")


def test_patch_one_field(api_client, workspace):
    hot = label(workspace, "Hot lead")
    body = api_client.patch(detail(hot), {"color": "red"}).json()
    assert body["color"] == "red" and body["name"] == "Hot lead" and body["icon"] == "whatshot"


def test_rename_to_another_labels_name_any_case_is_400(api_client, workspace):
    hot = label(workspace, "Hot lead")
    assert_error(api_client.patch(detail(hot), {"name": "cold LEAD"}), 400, "unique", "name")
    hot.refresh_from_db()
    assert hot.name == "Hot lead"


def test_rename_own_case_is_fine(api_client, workspace):
    hot = label(workspace, "Hot lead")
    assert api_client.patch(detail(hot), {"name": "HOT LEAD"}).json()["name"] == "HOT LEAD"


def test_default_label_can_be_renamed_and_stays_default(api_client, workspace):
    default = label(workspace, "No label")
    body = api_client.patch(detail(default), {"name": "Unlabelled"}).json()
    assert body["name"] == "Unlabelled" and body["is_default"] is True


# -- delete -------------------------------------------------------------------
def test_delete_moves_contacts_to_the_default_label(api_client, workspace):
    hot = label(workspace, "Hot lead")
    warm = label(workspace, "Warm lead")
    moved = [Contact.objects.create(workspace=workspace, name=f"m{i}", label=hot) for i in range(3)]
    kept = Contact.objects.create(workspace=workspace, name="k", label=warm)
    response = api_client.delete(detail(hot))
    assert response.status_code == 204, response.content
    assert not ContactLabel.objects.filter(pk=hot.pk).exists()
    default = label(workspace, "No label")
    assert set(Contact.objects.filter(label=default).values_list("id", flat=True)) == {c.id for c in moved}
    kept.refresh_from_db()
    assert kept.label_id == warm.id and kept.version == 1
    assert api_client.get(detail(hot)).status_code == 404


def test_delete_is_one_transaction(api_client, workspace, monkeypatch):
    """If the delete fails after the contacts moved, they stay on their label."""
    hot = label(workspace, "Hot lead")
    contact = Contact.objects.create(workspace=workspace, name="c", label=hot)

    def boom(self, *args, **kwargs):
        raise RuntimeError("delete failed")

    monkeypatch.setattr(ContactLabel, "delete", boom)
    api_client.raise_request_exception = False
    assert api_client.delete(detail(hot)).status_code == 500
    contact.refresh_from_db()
    assert contact.label_id == hot.id and contact.version == 1


def test_delete_default_label_is_409(api_client, workspace):
    default = label(workspace, "No label")
    contact = Contact.objects.create(workspace=workspace, name="c", label=default)
    body = assert_error(api_client.delete(detail(default)), 409, "default_label")
    assert "default label" in body["message"] and "cannot be deleted" in body["message"]
    assert ContactLabel.objects.filter(pk=default.pk).exists()
    contact.refresh_from_db()
    assert contact.label_id == default.id


def test_delete_unknown_is_404(api_client):
    assert_error(api_client.delete(detail(99999999)), 404, "not_found")


# -- tenancy ------------------------------------------------------------------
def test_tenancy_on_every_route(api_client, other_client, workspace):
    hot = label(workspace, "Hot lead")
    contact = Contact.objects.create(workspace=workspace, name="c", label=hot)
    ids = list(ContactLabel.objects.filter(workspace=workspace).values_list("id", flat=True))
    assert_tenant_isolated(
        other_client, list_url=URL, detail_urls=[detail(i) for i in ids], hidden_ids=ids, payload=SEED_UPDATE
    )
    # Nothing changed: the label, its contacts, the other workspace's labels.
    hot.refresh_from_db()
    contact.refresh_from_db()
    assert hot.name == "Hot lead" and contact.label_id == hot.id
    assert len(other_client.get(URL).json()) == 4


# -- the data migration -------------------------------------------------------
def test_data_migration_gives_existing_workspaces_the_defaults():
    migration = importlib.import_module("labels.migrations.0002_default_labels")
    bare = Workspace.objects.create(name="Before labels", slug="before-labels")  # no signal: no labels
    assert not ContactLabel.objects.filter(workspace=bare).exists()
    migration.create_default_labels(django_apps, None)
    migration.create_default_labels(django_apps, None)  # idempotent
    labels = ContactLabel.objects.filter(workspace=bare).order_by("id")
    assert [(l.name, l.color, l.icon, l.is_default) for l in labels] == [
        (spec["name"], spec["color"], spec["icon"], spec.get("is_default", False))
        for spec in services.DEFAULT_LABELS
    ]
    assert migration.DEFAULT_LABELS == services.DEFAULT_LABELS


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": 0}, "name"),
    ({"name": "x", "color": 1}, "color"),
    ({"name": "x", "icon": True}, "icon"),
    ({"name": "x", "owner_id": False}, "owner_id"),  # False == 0 once passed for "no owner"
])
def test_wrong_types_are_400_not_coerced(api_client, payload, field):
    """Found by schemathesis: a number or boolean was coerced to a string (or False to no owner)."""
    assert_error(api_client.post(URL, payload, format="json"), 400, field=field)
    assert not ContactLabel.objects.filter(workspace=api_client.workspace, name__in=["0", "x"]).exists()


@pytest.mark.parametrize("owner", ["", "half"])
def test_owner_id_empty_string_or_fraction_is_400(api_client, owner):
    """Found by schemathesis: "" was taken as no owner, and 12.5 as the member 12."""
    owner = "" if owner == "" else api_client.user.id + 0.5
    assert_error(api_client.post(URL, {"name": "x", "owner_id": owner}, format="json"), 400, field="owner_id")
    assert not ContactLabel.objects.filter(workspace=api_client.workspace, name="x").exists()
