"""POST /imports/validate: every error kind with its row and column,
encodings, delimiters, quoting, mapping."""
import pytest

from contacts.models import Contact
from tags.models import Tag
from tests.factories import UserFactory

from .conftest import upload, validate


def errors_of(result):
    return [(e["row"], e["column"], e["code"]) for e in result["errors"]]


def test_counts_and_each_row_error_with_row_and_column(api_client):
    content = (
        "externalClientId,name,email,phone,type,visibility_type,city\n"
        "e1,Ann,ann@example.com,+14155552671,person,public,Paris\n"       # row 2 ok
        "e2,Bob,not-an-email,+14155552672,,,\n"                            # row 3 email
        "e3,Cy,,12,,,\n"                                                   # row 4 phone
        "e4,Di,,,robot,,\n"                                                # row 5 type
        "e5,Ed,,,,secret,\n"                                               # row 6 visibility
        "e6,Flo,,,,,\n"                                                    # row 7 ok
        "e1,Gus,,,,,\n"                                                    # row 8 duplicate of row 2
        "e8,Hal,,\n"                                                       # row 9 too few fields
        "e9,Ida,,,,,,extra\n"                                              # row 10 too many
        f"e10,{'x' * 256},,,,,\n"                                          # row 11 too long
    )
    result = validate(api_client, upload(api_client, content))
    assert result["total_rows"] == 10
    assert result["valid_rows"] == 2 and result["invalid_rows"] == 8
    assert errors_of(result) == [
        (3, "email", "invalid"),
        (4, "phone", "invalid"),
        (5, "type", "invalid_choice"),
        (6, "visibility_type", "invalid_choice"),
        (8, "externalClientId", "duplicate"),
        (9, None, "field_count"),
        (10, None, "field_count"),
        (11, "name", "max_length"),
    ]
    messages = {e["row"]: e["message"] for e in result["errors"]}
    assert messages[4] == "Phone number is invalid"
    assert messages[3] == "Enter a valid email address."
    assert "row 2" in messages[8]
    assert result["errors_truncated"] is False
    assert not Contact.objects.exists()


def test_references_label_stage_owner(api_client, workspace):
    Tag.objects.create(workspace=workspace, tag="Qualified", type=Tag.Type.CLIENT_STAGE)
    Tag.objects.create(workspace=workspace, tag="Client only", type=Tag.Type.CLIENT)
    outsider = UserFactory(email="stranger@example.com")
    content = (
        "name,label,stage,owner_email\n"
        f"Ann,hot lead,qualified,{api_client.user.email.upper()}\n"
        "Bob,Nope,,\n"
        "Cy,,Client only,\n"
        f"Di,,,{outsider.email}\n"
    )
    result = validate(api_client, upload(api_client, content))
    assert result["valid_rows"] == 1
    assert errors_of(result) == [
        (3, "label", "does_not_exist"), (4, "stage", "does_not_exist"), (5, "owner_email", "does_not_exist"),
    ]


def test_a_row_reports_every_error_kind(api_client):
    """A bad phone does not hide an unknown label on the same row."""
    content = "name,phone,label\nAnn,123,Nope\nBob,,Nope\nCy,123,Hot lead\n"
    result = validate(api_client, upload(api_client, content))
    assert result["invalid_rows"] == 3
    assert errors_of(result) == [
        (2, "phone", "invalid"), (2, "label", "does_not_exist"), (3, "label", "does_not_exist"), (4, "phone", "invalid"),
    ]


def test_tags_split_and_length(api_client):
    content = f"name,tags\nAnn,vip; new|vip\nBob,ok;{'t' * 101}\n"
    result = validate(api_client, upload(api_client, content))
    assert errors_of(result) == [(3, "tags", "max_length")]
    assert not Tag.objects.filter(type=Tag.Type.CLIENT).exists(), "validation creates no tags"


def test_phone_uses_country_code_column_and_workspace_region(api_client, workspace):
    workspace.default_phone_region = "GB"
    workspace.save()
    content = "name,country_code,phone\nAnn,,020 7946 0958\nBob,+33,612345678\nCy,+33,0207946\n"
    result = validate(api_client, upload(api_client, content))
    assert errors_of(result) == [(4, "phone", "invalid")]


def test_errors_truncated_at_1000(api_client):
    content = "name,email\n" + "x,bad\n" * 1005
    result = validate(api_client, upload(api_client, content))
    assert result["invalid_rows"] == 1005 and len(result["errors"]) == 1000
    assert result["errors_truncated"] is True and result["error_count"] == 1005


@pytest.mark.parametrize(
    "content,code",
    [
        ("", "missing_header"),
        ("name,,email\nAnn,x,a@b.co\n", "missing_header"),
        ("name,email,Name\nAnn,a@b.co,Ann\n", "duplicate_header"),
        ("name,first_name\nAnn,Ann\n", "duplicate_header"),
        ("foo,bar\n1,2\n", "missing_header"),
    ],
)
def test_header_problems(api_client, content, code):
    file_name = upload(api_client, content or " ")
    result = validate(api_client, file_name)
    assert result["errors"][0]["row"] == 1 and result["errors"][0]["code"] == code
    assert result["valid_rows"] == 0


def test_unknown_columns_are_reported_not_fatal(api_client):
    result = validate(api_client, upload(api_client, "name,Favourite colour,EMAIL\nAnn,blue,a@b.co\n"))
    assert result["unknown_columns"] == ["Favourite colour"]
    assert result["columns"] == {"name": "name", "EMAIL": "email"}
    assert result["valid_rows"] == 1 and result["errors"] == []


def test_camel_case_snake_case_any_case(api_client):
    content = "ExternalClientId,SURNAME,local_name,countryCode,Secondary Phone,visibilityType,ownerEmail\n"
    result = validate(api_client, upload(api_client, content))
    assert list(result["columns"].values()) == [
        "external_client_id", "surname", "local_name", "country_code", "secondary_phone", "visibility_type",
        "owner_email",
    ]


def test_mapping_overrides_matching(api_client):
    file_name = upload(api_client, "Mobile,Mail,name\n+14155552671,a@b.co,Ann\nnope,bad,Bob\n")
    result = validate(api_client, file_name, mapping={"mobile": "phone", "Mail": "email", "name": ""})
    assert result["columns"] == {"Mobile": "phone", "Mail": "email"}
    assert errors_of(result) == [(3, "Mobile", "invalid"), (3, "Mail", "invalid")]


@pytest.mark.parametrize("mapping", [{"Nope": "phone"}, {"Mobile": "favourite_colour"}])
def test_bad_mapping_is_400(api_client, mapping):
    file_name = upload(api_client, "Mobile\n+14155552671\n")
    response = api_client.post("/v1/crm/imports/validate", {"file_name": file_name, "mapping": mapping}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"].startswith("mapping")


ROWS = [["e1", "Zoë", "zoe@example.com"], ["e2", "Łukasz", "bad"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters(api_client, encoding, delimiter):
    text = "\r\n".join(delimiter.join(r) for r in [["externalClientId", "name", "email"], *ROWS]) + "\r\n"
    result = validate(api_client, upload(api_client, text.encode(encoding)))
    assert result["columns"] == {"externalClientId": "external_client_id", "name": "name", "email": "email"}
    assert result["delimiter"] == delimiter
    assert errors_of(result) == [(3, "email", "invalid")]


def test_bom_is_not_part_of_the_first_header(api_client):
    result = validate(api_client, upload(api_client, "\ufeffexternalClientId,name\ne1,Ann\n".encode("utf-8")))
    assert "externalClientId" in result["columns"] and result["encoding"] == "utf-8-sig"


def test_other_encoding_is_a_clear_error(api_client):
    file_name = upload(api_client, "name,city\nAnn,Montréal\n".encode("latin-1"))
    response = api_client.post("/v1/crm/imports/validate", {"file_name": file_name}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_encoding" and "not valid UTF-8" in body["message"]


def test_quoted_newlines_and_delimiters_count_as_one_spreadsheet_row(api_client):
    content = 'name,address,email\nAnn,"1 Main St\nFlat 2, Floor 3",a@b.co\n\nBob,"x",bad\n'
    result = validate(api_client, upload(api_client, content))
    assert result["total_rows"] == 2
    # Ann's record is row 2 whatever its line breaks; the blank line is row 3.
    assert errors_of(result) == [(4, "email", "invalid")]


def test_unknown_file_is_404(api_client):
    response = api_client.post("/v1/crm/imports/validate", {"file_name": "0" * 32 + ".csv"}, format="json")
    assert response.status_code == 404


def test_validation_in_worker_processes_matches_serial(api_client, settings):
    content = "externalClientId,name,email,phone\n" + "".join(
        f"e{i % 40},N{i},{'bad' if i % 7 == 0 else f'n{i}@example.com'},{'+1415555' + str(2600 + i) if i % 5 else '12'}\n"
        for i in range(60)
    )
    file_name = upload(api_client, content)
    serial = validate(api_client, file_name)
    settings.IMPORT_PARALLEL_MIN_BYTES = 0
    settings.IMPORT_VALIDATE_PROCESSES = 2
    parallel = validate(api_client, file_name)
    assert parallel == serial
    assert serial["invalid_rows"] > 20 and {e["code"] for e in serial["errors"]} == {"invalid", "duplicate"}


def test_file_name_must_be_a_string(api_client):
    """A number was coerced to a file name and answered 404 (schemathesis)."""
    for url in ("/v1/crm/imports/validate", "/v1/crm/imports"):
        response = api_client.post(url, {"file_name": 0}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["errors"][0]["field"] == "file_name"
