"""The one JSON parser (crm/parsers.py): nesting over MAX_JSON_DEPTH is a 400
before json recurses; a NUL in any key or string is a 400
`null_characters_not_allowed` naming its path. tests/resources.py sends the
hostile bodies to every write of every resource."""
import json

import pytest
from rest_framework.exceptions import ParseError

from crm.parsers import MAX_JSON_DEPTH, json_depth_exceeds, nul_path
from tests.imports.test_resource_api import stored_file


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize("text, deeper", [
    (nested(MAX_JSON_DEPTH), False),
    (nested(MAX_JSON_DEPTH + 1), True),
    ('{"a":' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH, False),
    ('{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1), True),
    # brackets inside strings are not nesting, escaped quotes and backslashes do not end a string
    ('["' + "[" * 500 + '"]', False),
    ('["\\"' + "[" * 500 + '", "\\\\", "{"]', False),
    ('[' + '"\\\\",' * 100 + nested(MAX_JSON_DEPTH) + "]", True),
    ("[" + ",".join(["[1]"] * 5000) + "]", False),  # wide, not deep
])
def test_depth(text, deeper):
    assert json_depth_exceeds(text) is deeper
    if not deeper:
        json.loads(text)  # the scan agrees with the parser on valid JSON


def test_unbalanced_brackets_are_a_parse_error_before_json_recurses():
    with pytest.raises(ParseError):
        json_depth_exceeds("[" * 10_000)


def test_nul_path():
    assert nul_path({"a": [1, {"b": "x\x00"}]}) == "a.1.b"
    assert nul_path({"a": {"k\x00": 1}}) == "a"
    assert nul_path("\x00") == ""
    assert nul_path({"a": ["\\u0000"]}) is None


def test_deep_body_is_a_400_on_any_endpoint(api_client):
    response = api_client.post("/v1/crm/tokens", nested(1000), content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "too_deep", response.content


def test_a_nul_names_its_path(api_client):
    response = api_client.post("/v1/crm/contacts", '{"name": "x", "c_field": {"a": ["ok", "b\\u0000"]}}',
                               content_type="application/json")
    body = response.json()
    assert response.status_code == 400 and body["code"] == "null_characters_not_allowed", body
    assert body["errors"][0]["field"] == "c_field.a.1"


def test_a_nul_in_an_import_mapping_key_is_a_400(api_client, settings, tmp_path):
    """Was a 500."""
    settings.MEDIA_ROOT = tmp_path
    import_file = stored_file(api_client.workspace)
    for url in ("/v1/crm/imports/validate", "/v1/crm/imports"):
        response = api_client.post(url, '{"file_name": "%s", "mapping": {"na\\u0000me": "name"}}'
                                   % import_file.file_name, content_type="application/json")
        body = response.json()
        assert response.status_code == 400 and body["code"] == "null_characters_not_allowed", body
        assert body["errors"][0]["field"] == "mapping"


def test_an_escaped_backslash_before_u0000_is_text(api_client):
    response = api_client.post("/v1/crm/tokens", '{"name": "C:\\\\u0000"}', content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "C:\\u0000"
