import io

import pytest
from django.core.files.storage import default_storage

from imports import services
from imports.models import ImportFile
from tests.factories import actor_of

HEADER = "externalClientId,name,surname,email,phone,city,tags\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.IMPORT_CHUNK_ROWS = 3  # several chunks even for small files
    return tmp_path / "media"


def upload(client, content, name="contacts.csv"):
    """Uploads through the API; returns the generated file_name."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    response = client.post("/v1/crm/imports/files", {"file": _named(data, name)}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["file_name"]


def _named(data: bytes, name: str):
    f = io.BytesIO(data)
    f.name = name
    return f


def validate(client, file_name, **extra):
    response = client.post("/v1/crm/imports/validate", {"file_name": file_name, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def stored_names(workspace):
    prefix = f"imports/{workspace.pk}"
    if not default_storage.exists(prefix):
        return []
    return default_storage.listdir(prefix)[1]


def store(workspace, content, user=None) -> str:
    """Stores a file through the service (no HTTP); returns its file_name."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = content.encode("utf-8") if isinstance(content, str) else content
    return services.import_file_upload(
        workspace=workspace, actor=actor_of(workspace, user), uploaded=SimpleUploadedFile("c.csv", data), original_name="c.csv"
    ).file_name


__all__ = ["HEADER", "ImportFile", "stored_names", "store", "upload", "validate"]
