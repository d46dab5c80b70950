"""One rule set, proven one (issue 11, deliverable 4): every case of the
table goes through each channel that can carry it -- the API (POST
/contacts), the CSV validation (imports.validation.validate_rows with the
references resolved by imports.pipeline.References) and the Django admin's
form (contacts.admin.ContactAdminForm as a staff actor) -- and each must
give the same verdict: accepted (with the same stored value where the case
says one) or refused with the same error code on the same field.

Which channels apply is derived: the CSV has columns for the fields of
imports.validation.IMPORT_FIELDS (label, stage and owner by name), the
admin form for its own fields (label, stage, owner... by primary key). A
case marks NA where a channel cannot express the value (a CSV cell is
always text; an empty cell means "keep", not ""); the reason is beside it.
"""
from dataclasses import dataclass
from typing import Any

import pytest

from contacts.admin import ContactAdminForm
from contacts.models import Contact
from contacts.services import rules
from crm.actors import Actor
from crm.models import Membership
from imports.pipeline import References
from imports.validation import IMPORT_FIELDS, plan_columns, validate_rows
from labels.models import ContactLabel
from tags.models import Tag
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory, actor_of
from tests.labels.factories import LabelFactory
from tests.tags.factories import TagFactory

from .factories import ContactFactory, CustomFieldFactory

pytestmark = pytest.mark.django_db

NA = object()  # the channel cannot carry this value
SAME = object()  # the channel takes the API's value as is
ACCEPTED = None

# Where each channel carries a rule's field.
CSV_COLUMN = {"label_id": "label", "stage_id": "stage", "owner_id": "owner_email",
              **{name: name for name in IMPORT_FIELDS if name not in ("label", "stage", "owner_email")}}
ADMIN_FIELD = {"label_id": "label", "stage_id": "stage", "owner_id": "owner", "default_agent_id": "default_agent",
               "organization_id": "organization", "sub_owner_ids": "sub_owners", "c_field": "custom_fields"}


@dataclass
class World:
    workspace: Any
    admin: Any  # the API's caller and the import's
    member: Any
    staff: Any
    label: ContactLabel
    stage: Tag
    plain_tag: Tag  # a client tag: not a stage
    organization: Contact
    person: Contact
    other_label: ContactLabel
    other_stage: Tag
    stranger: Any  # a member of the other workspace only
    other_organization: Contact
    other_person: Contact
    budget: Any  # number custom field
    size: Any  # dropdown custom field (S, M)
    remark: Any  # text custom field
    since: Any  # date custom field


@pytest.fixture
def world(api_client, workspace):
    member = MembershipFactory(workspace=workspace, user=UserFactory(email="member@example.com"),
                               role=Membership.Role.MEMBER).user
    other = WorkspaceFactory()
    stranger = MembershipFactory(workspace=other, user=UserFactory(email="stranger@example.com")).user
    return World(
        workspace=workspace, admin=api_client.user, member=member, staff=UserFactory(is_staff=True),
        label=ContactLabel.objects.get(workspace=workspace, name="Hot lead"),
        stage=TagFactory(workspace=workspace, tag="Won", type=Tag.Type.CLIENT_STAGE),
        plain_tag=TagFactory(workspace=workspace, tag="Plain", type=Tag.Type.CLIENT),
        organization=ContactFactory(workspace=workspace, type="organization", name="Acme"),
        person=ContactFactory(workspace=workspace, name="Pat"),
        other_label=LabelFactory(workspace=other, name="Elsewhere", color="red"),
        other_stage=TagFactory(workspace=other, tag="Elsewhere stage", type=Tag.Type.CLIENT_STAGE),
        stranger=stranger,
        other_organization=ContactFactory(workspace=other, type="organization", name="Other Acme"),
        other_person=ContactFactory(workspace=other, name="Other Pat"),
        budget=CustomFieldFactory(workspace=workspace, label="Budget", short_name="budget", type="number"),
        size=CustomFieldFactory(workspace=workspace, label="Size", short_name="size", type="dropdown",
                                options=["S", "M"]),
        remark=CustomFieldFactory(workspace=workspace, label="Remark", short_name="remark", type="text"),
        since=CustomFieldFactory(workspace=workspace, label="Since", short_name="since", type="date"),
    )


@dataclass
class Case:
    field: str  # the rule's field, as the API names it (and its errors)
    value: Any  # as the API sends it; a callable of the World for references
    code: str | None = ACCEPTED  # the error code every channel gives; None: accepted
    csv: Any = SAME  # the cell's text (a callable of the World), or NA
    admin: Any = SAME  # the form's value (a callable of the World), or NA
    stored: Any = NA  # where accepted: the value stored (API response, CSV values, saved row)
    also: dict | None = None  # other fields the case needs, the same in every channel
    name: str = ""

    def __post_init__(self):
        self.name = self.name or f"{self.field}-{self.code or 'ok'}"


def _n(length, char="x"):
    return char * length


def _lengths(field, limit, **kwargs):
    return [Case(field, _n(limit), name=f"{field}-{limit}", **kwargs),
            Case(field, _n(limit + 1), "max_length", name=f"{field}-{limit + 1}", **kwargs)]


def pk(attr):
    """The id of the World's `attr`, as the API and the admin name it."""
    return lambda w: getattr(w, attr).pk


def named(attr, key="name"):
    """The World's `attr` by name, as a CSV cell names it."""
    return lambda w: getattr(getattr(w, attr), key)


CASES = [
    # -- text: trimmed, bounded, no NUL ------------------------------------------------
    Case("name", "  Ann  ", stored="Ann"),
    *_lengths("name", 255), *_lengths("surname", 255), *_lengths("local_name", 255), *_lengths("title", 255),
    *_lengths("city", 100), *_lengths("country", 100), *_lengths("code", 100), *_lengths("country_code", 10),
    *_lengths("address", 5000), *_lengths("note", 20000), *_lengths("external_client_id", 255),
    *_lengths("logo", 500),  # no CSV column
    Case("name", "A\x00nn", "null_characters_not_allowed"),
    Case("note", "line\x00", "null_characters_not_allowed"),
    Case("name", 12, "invalid", csv=NA, admin=NA, name="name-number"),  # only JSON has types besides text
    # -- emails -----------------------------------------------------------------------
    Case("email", "ann@example.com", stored="ann@example.com"),
    Case("email", "ANN@Example.COM", stored="ann@example.com", name="email-any-case"),
    Case("email", "not-an-email", "invalid"),
    Case("email", "ann@", "invalid", name="email-no-domain"),
    Case("email", _n(250) + "@x.io", "max_length"),
    Case("email", "a\x00n@example.com", "null_characters_not_allowed"),
    # -- phones (E.164; the workspace's region US, or the given country_code) ---------
    Case("phone", "(202) 555-0123", stored="+12025550123"),
    Case("phone", "+44 20 7946 0958", stored="+442079460958", name="phone-international"),
    Case("phone", "98765 43210", also={"country_code": "+91"}, stored="+919876543210", name="phone-country-code"),
    Case("phone", "12", "invalid"),
    Case("phone", "call me", "invalid", name="phone-words"),
    Case("phone", _n(41, "1"), "max_length"),
    Case("phone", "202\x00555", "null_characters_not_allowed"),
    Case("secondary_phone", "(202) 555-0199", stored="+12025550199"),
    Case("secondary_phone", "12", "invalid"),
    # -- enums, in any case -----------------------------------------------------------
    Case("type", "PERSON", stored="person", name="type-PERSON"),
    Case("type", "Organization", stored="organization", name="type-Organization"),
    Case("type", "robot", "invalid_choice"),
    Case("visibility_type", "TEAM", stored="team", name="visibility-TEAM"),
    Case("visibility_type", "Private", stored="private", name="visibility-Private"),
    Case("visibility_type", "secret", "invalid_choice"),
    # "" : a CSV empty cell keeps the stored value (it is not a value)
    # (the rules: "" is no type, and no visibility means public)
    Case("type", "", "invalid_choice", csv=NA, name="type-empty"),
    Case("visibility_type", "", csv=NA, stored="public", name="visibility-empty"),
    # -- tags ----------------------------------------------------------------------
    Case("tags", ["vip", "new"], csv="vip;new", admin="vip,new"),
    Case("tags", [_n(100)], csv=_n(100), admin=_n(100), name="tags-100"),
    Case("tags", [_n(101)], "max_length", csv=_n(101), admin=_n(101), name="tags-101"),
    Case("tags", [f"t{i}" for i in range(201)], "max_length", csv=";".join(f"t{i}" for i in range(201)),
         admin=",".join(f"t{i}" for i in range(201)), name="tags-201-items"),
    Case("tags", ["v\x00ip"], "null_characters_not_allowed", csv="v\x00ip", admin="v\x00ip", name="tags-nul"),
    # -- references: the workspace's own, another workspace's, unknown ---------------
    Case("label_id", pk("label"), csv=named("label"), admin=pk("label"), stored=pk("label"), name="label-own"),
    Case("label_id", pk("other_label"), "does_not_exist", csv=named("other_label"), admin=pk("other_label"),
         name="label-other-workspace"),
    # the admin's raw-id select refuses an id no row has itself (Django's invalid_choice)
    Case("label_id", 10**12, "does_not_exist", csv="No such label", admin=NA, name="label-unknown"),
    Case("stage_id", pk("stage"), csv=named("stage", "tag"), admin=pk("stage"), stored=pk("stage"), name="stage-own"),
    Case("stage_id", pk("other_stage"), "does_not_exist", csv=named("other_stage", "tag"), admin=pk("other_stage"),
         name="stage-other-workspace"),
    Case("stage_id", pk("plain_tag"), "does_not_exist", csv=named("plain_tag", "tag"), admin=pk("plain_tag"),
         name="stage-not-a-stage"),
    Case("owner_id", pk("member"), csv=named("member", "email"), admin=pk("member"), stored=pk("member"),
         name="owner-member"),
    Case("owner_id", pk("stranger"), "does_not_exist", csv=named("stranger", "email"), admin=pk("stranger"),
         name="owner-other-workspace"),
    Case("default_agent_id", pk("stranger"), "does_not_exist", name="agent-other-workspace"),
    Case("sub_owner_ids", lambda w: [w.stranger.pk], "does_not_exist", admin=lambda w: [w.stranger.pk],
         name="sub-owner-other-workspace"),
    Case("visibility_ids", lambda w: [w.member.pk], admin=lambda w: f"[{w.member.pk}]", name="visibility-ids-member"),
    Case("visibility_ids", lambda w: [w.stranger.pk], "does_not_exist", admin=lambda w: f"[{w.stranger.pk}]",
         name="visibility-ids-other-workspace"),
    Case("organization_id", pk("organization"), stored=pk("organization"), name="organization-own"),
    Case("organization_id", pk("other_organization"), "does_not_exist", name="organization-other-workspace"),
    Case("organization_id", pk("person"), "invalid", name="organization-a-person"),
    # by name (seeds 000 and 003): the API only (the CSV names a stage in its stage column, as stage_id above)
    Case("stage", named("stage", "tag"), admin=NA, name="stage-by-name"),
    Case("stage", _n(101), "max_length", admin=NA, name="stage-by-name-101"),
    Case("organization_name", named("organization"), name="organization-by-name"),
    Case("organization_name", _n(256), "max_length", name="organization-by-name-256"),
    Case("person_ids", lambda w: [w.person.pk], "invalid", name="persons-of-a-person"),  # only organizations
    Case("person_ids", lambda w: [w.other_person.pk], "does_not_exist", also={"type": "organization"},
         name="persons-other-workspace"),
    Case("person_names", [_n(256)], "max_length", also={"type": "organization"}, name="person-names-256"),
    # -- custom fields (API: c_field by shortName; admin: custom_fields by code) ------
    Case("c_field", {"budget": "12.5"}, admin=lambda w: f'{{"{w.budget.code}": "12.5"}}', name="custom-number"),
    Case("c_field", {"budget": "lots"}, "invalid", admin=lambda w: f'{{"{w.budget.code}": "lots"}}',
         name="custom-not-a-number"),
    Case("c_field", {"size": "XL"}, "invalid_choice", admin=lambda w: f'{{"{w.size.code}": "XL"}}',
         name="custom-not-an-option"),
    Case("c_field", {"remark": _n(2000)}, admin=lambda w: f'{{"{w.remark.code}": "{_n(2000)}"}}', name="custom-text-2000"),
    Case("c_field", {"remark": _n(2001)}, "max_length", admin=lambda w: f'{{"{w.remark.code}": "{_n(2001)}"}}',
         name="custom-text-2001"),
    Case("c_field", {"since": "2024-02-30"}, "invalid", admin=lambda w: f'{{"{w.since.code}": "2024-02-30"}}',
         name="custom-not-a-date"),
    Case("c_field", {"nosuchfield": "x"}, "does_not_exist", admin='{"D-9999999": "x"}', name="custom-unknown"),
    # -- JSON values ------------------------------------------------------------------
    Case("integration_meta", {"crm": "x"}, admin='{"crm": "x"}', stored={"crm": "x"}),
    Case("integration_meta", "not an object", "not_a_dict", admin='"not an object"', name="integration-meta-string"),
    Case("integration_meta", {"crm": "x\x00"}, "null_characters_not_allowed", admin='{"crm": "x\\u0000"}',
         name="integration-meta-nul"),
    Case("c_field", {"remark": "x\x00"}, "null_characters_not_allowed",
         admin=lambda w: f'{{"{w.remark.code}": "x\\u0000"}}', name="custom-text-nul"),
    Case("disabled", True, admin=True, stored=True),
    # -- seed 004: media, cover photo (http(s) URLs), company namespaces -----------------
    Case("media", [" https://x.io/a.png ", "https://x.io/a.png"], admin='[" https://x.io/a.png ", "https://x.io/a.png"]',
         stored=["https://x.io/a.png"]),
    Case("media", ["ftp://x.io/a"], "invalid", admin='["ftp://x.io/a"]', name="media-not-http"),
    Case("media", ["https://x.io/" + _n(2000)], "max_length", admin=f'["https://x.io/{_n(2000)}"]', name="media-long"),
    Case("media", "https://x.io/a.png", "not_a_list", admin='"https://x.io/a.png"', name="media-not-a-list"),
    Case("cover_photo", "https://x.io/c.png", stored="https://x.io/c.png"),
    Case("cover_photo", "javascript:alert(1)", "invalid"),
    Case("cover_photo", "https://x.io/" + _n(2000), "max_length"),
    Case("company_namespace", ["company1", "company1", "c2"], admin='["company1", "company1", "c2"]',
         stored=["company1", "c2"]),
    Case("company_namespace", [_n(101)], "max_length", admin=f'["{_n(101)}"]', name="company-namespace-101"),
    Case("company_namespace", ["a\x00"], "null_characters_not_allowed", admin='["a\\u0000"]',
         name="company-namespace-nul"),
    Case("disabled", "yes", "invalid", admin=NA, name="disabled-string"),  # a checkbox has no wrong value
]


def resolve(value, world):
    return value(world) if callable(value) else value


# -- the channels ----------------------------------------------------------------------
@dataclass
class Verdict:
    code: str | None  # None: accepted
    stored: Any = NA


def via_api(case: Case, world: World, client) -> Verdict:
    body = {"name": "Base", **(case.also or {}), case.field: resolve(case.value, world)}
    response = client.post("/v1/crm/contacts", body, format="json")
    if response.status_code == 201:
        data = response.json()
        stored = data.get(case.field, NA)
        return Verdict(None, stored)
    assert response.status_code == 400, response.content[:300]
    errors = response.json()["errors"]
    mine = [e for e in errors if e["field"] and (e["field"] == case.field or e["field"].startswith(case.field + "."))]
    assert mine, f"no error on {case.field}: {errors}"
    return Verdict(mine[0]["code"])


def via_csv(case: Case, world: World) -> Verdict:
    cells = {"name": "Base", **{CSV_COLUMN[name]: value for name, value in (case.also or {}).items()}}
    cells[CSV_COLUMN[case.field]] = resolve(case.csv if case.csv is not SAME else case.value, world)
    plan = plan_columns(list(cells))
    assert not plan.issues and not plan.unknown, (plan.issues, plan.unknown)
    ((values, issues),) = validate_rows([(2, [str(v) for v in cells.values()])], plan, world.workspace.default_phone_region)
    if not issues:
        ok, bad = References(world.workspace, actor_of(world.workspace, world.admin), plan).check([(2, values)])
        if bad:
            issues = bad[0][1]
        else:
            values = ok[0][1]
    if issues:
        column = CSV_COLUMN[case.field]
        mine = [i for i in issues if i.column == column]
        assert mine, f"no issue on {column}: {issues}"
        return Verdict(mine[0].code)
    return Verdict(None, values.get(case.field, NA))


ADMIN_BASE = {"type": "person", "visibility_type": "public", "name": "Base", "visibility_ids": "[]",
              "custom_fields": "{}", "integration_meta": "{}"}


def via_admin(case: Case, world: World) -> Verdict:
    field = ADMIN_FIELD.get(case.field, case.field)
    form_class = type("StaffContactForm", (ContactAdminForm,), {"actor": Actor.staff(world.staff)})
    data = {**ADMIN_BASE, "workspace": world.workspace.pk, **(case.also or {}),
            field: resolve(case.admin if case.admin is not SAME else case.value, world)}
    form = form_class(data=data)
    if form.is_valid():
        saved = form.saved
        stored = getattr(saved, case.field, NA)
        return Verdict(None, stored)
    errors = form.errors.as_data()
    assert field in errors, f"no error on {field}: {form.errors.get_json_data()}"
    return Verdict(errors[field][0].code)


def channels(case: Case) -> list[str]:
    """The channels that can carry the case: a field without a CSV column or
    an admin field, or a value marked NA, leaves that channel out."""
    found = ["api"]
    if case.field in CSV_COLUMN and case.csv is not NA and all(name in CSV_COLUMN for name in case.also or {}):
        found.append("csv")
    if ADMIN_FIELD.get(case.field, case.field) in ContactAdminForm.base_fields and case.admin is not NA:
        found.append("admin")
    return found


PARAMS = [(case, channel) for case in CASES for channel in channels(case)]


@pytest.mark.parametrize(("case", "channel"), PARAMS, ids=[f"{c.name}-{ch}" for c, ch in PARAMS])
def test_same_verdict_on_every_channel(case, channel, world, api_client):
    before = Contact.objects.filter(workspace=world.workspace).count()
    if channel == "api":
        verdict = via_api(case, world, api_client)
    elif channel == "csv":
        verdict = via_csv(case, world)
    else:
        verdict = via_admin(case, world)
    assert verdict.code == case.code, f"{channel}: {verdict.code!r}, the table says {case.code!r}"
    if case.code is not None:
        assert Contact.objects.filter(workspace=world.workspace).count() == before, "a refused write wrote"
    elif case.stored is not NA and verdict.stored is not NA:
        assert verdict.stored == resolve(case.stored, world), channel


def test_the_table_covers_every_field_and_every_channel():
    fields = {case.field for case in CASES}
    # custom_fields arrive as custom_field / c_field (the same CustomFieldValue list)
    assert set(rules.FIELDS) - {"custom_fields"} <= fields, set(rules.FIELDS) - fields
    assert {channel for _, channel in PARAMS} == {"api", "csv", "admin"}
    # the point of the table: most cases are compared across channels
    assert sum(len(channels(case)) >= 2 for case in CASES) > 0.8 * len(CASES)
