"""Uploading, listing and deleting CSV files."""
import io

from imports.models import ImportFile
from tests.tenancy import assert_tenant_isolated

from .conftest import HEADER, stored_names, upload


def test_upload_stores_under_workspace_prefix_with_generated_name(api_client):
    response = api_client.post(
        "/v1/crm/imports/files", {"file": _file(HEADER + "e1,Ann,Lee,,,,\n", "../../etc/passwd.csv")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"file_name", "size", "uploaded_at"}
    assert body["size"] == len(HEADER) + len("e1,Ann,Lee,,,,\n")
    assert body["file_name"].endswith(".csv") and "passwd" not in body["file_name"] and "/" not in body["file_name"]
    assert stored_names(api_client.workspace) == [body["file_name"]]


def test_list_and_delete(api_client):
    first = upload(api_client, HEADER)
    second = upload(api_client, HEADER)
    listed = api_client.get("/v1/crm/imports/files").json()
    assert [f["file_name"] for f in listed["data"]] == [second, first]
    assert api_client.delete(f"/v1/crm/imports/files/{first}").status_code == 204
    assert stored_names(api_client.workspace) == [second]
    assert not ImportFile.objects.filter(file_name=first).exists()
    assert api_client.delete(f"/v1/crm/imports/files/{first}").status_code == 404


def test_over_the_size_cap_is_413_and_nothing_kept(api_client, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1000
    response = api_client.post(
        "/v1/crm/imports/files", {"file": _file((HEADER + "x,y,z,,,,\n" * 200).encode(), "big.csv")},
        format="multipart",
    )
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "payload_too_large"
    assert stored_names(api_client.workspace) == [] and not ImportFile.objects.exists()


def test_size_cap_is_enforced_while_streaming_not_only_by_content_length(api_client, settings, rf):
    """A cap just over the multipart envelope lets the middleware pass the
    body; the upload handler still stops the file itself."""
    settings.IMPORT_MAX_FILE_BYTES = 3 * 1024 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # stream to a temporary file
    payload = (HEADER + "x,y,z,,,,\n" * 400_000).encode()[: 3 * 1024 * 1024 + 10]
    response = api_client.post("/v1/crm/imports/files", {"file": _file(payload, "big.csv")}, format="multipart")
    assert response.status_code == 413, response.content
    assert stored_names(api_client.workspace) == [] and not ImportFile.objects.exists()


def test_body_over_the_general_request_cap_is_accepted_for_uploads(api_client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1024
    file_name = upload(api_client, HEADER + "x,y,z,,,,\n" * 500)
    assert stored_names(api_client.workspace) == [file_name]


def test_binary_file_is_400(api_client):
    for content in (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"name,email\nAnn,a@b.c\x00\n"):
        response = api_client.post("/v1/crm/imports/files", {"file": _file(content, "x.csv")}, format="multipart")
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "binary_file"
    assert stored_names(api_client.workspace) == []


def test_empty_file_and_missing_field_are_400(api_client):
    response = api_client.post("/v1/crm/imports/files", {"file": _file(b"", "x.csv")}, format="multipart")
    assert response.status_code == 400
    response = api_client.post("/v1/crm/imports/files", {}, format="multipart")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "file"


def test_json_body_is_415(api_client):
    response = api_client.post("/v1/crm/imports/files", {"file": "x"}, format="json")
    assert response.status_code == 415


def test_utf16_upload_is_accepted(api_client):
    file_name = upload(api_client, (HEADER + "e1,Ann,Lee,,,,\n").encode("utf-16"))
    assert stored_names(api_client.workspace) == [file_name]


def test_files_are_tenant_isolated(api_client, other_client):
    file_name = upload(api_client, HEADER)
    listed = other_client.get("/v1/crm/imports/files").json()
    assert file_name not in [f["file_name"] for f in listed["data"]]
    assert_tenant_isolated(
        other_client,
        detail_urls=[f"/v1/crm/imports/files/{file_name}"],
        methods=["delete"],
    )
    for path in ("/v1/crm/imports/validate", "/v1/crm/imports"):
        response = other_client.post(path, {"file_name": file_name}, format="json")
        assert response.status_code == 404, response.content
    assert stored_names(api_client.workspace) == [file_name]


def _file(data, name):
    f = io.BytesIO(data.encode() if isinstance(data, str) else data)
    f.name = name
    return f
