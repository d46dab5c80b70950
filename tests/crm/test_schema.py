from django.core.management import call_command


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "ApiKeyAuth" in text and "x-access-token" in text


def test_schema_and_docs_are_served(client, db):
    schema = client.get("/v1/schema/?format=json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey", "in": "header", "name": "x-access-token",
        "description": body["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }
    assert "/v1/crm/me" in body["paths"]
    docs = client.get("/v1/docs/")
    assert docs.status_code == 200
    assert client.get("/v1/redoc/").status_code == 200
    # Swagger UI's assets are served by the app itself (drf-spectacular-sidecar), no CDN.
    html = docs.content.decode()
    assert "swagger-ui-dist/swagger-ui-bundle.js" in html and "cdn.jsdelivr" not in html
