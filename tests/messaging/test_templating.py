"""Placeholder rendering, exactly as seed 001 specifies (table-driven)."""

import copy

import pytest

from messaging.templating import (
    ALLOWED_FIELDS,
    placeholder_values,
    render_components,
    render_string,
)

CONTACT = {
    "name": "Ada",
    "surname": "Lovelace",
    "email": "ada@example.com",
    "phone": "+12025550123",
    "address": "12 St James's Square",
    "code": "C-7",
    "city": "London",
    "country": "UK",
}
VALUES = placeholder_values(CONTACT)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hello {{name}}, your city is {{city}}", "Hello Ada, your city is London"),
        ("{{fullName}}", "Ada Lovelace"),
        (
            "{{surname}}|{{email}}|{{phone}}|{{address}}|{{code}}|{{country}}",
            "Lovelace|ada@example.com|+12025550123|12 St James's Square|C-7|UK",
        ),
        ("{{name}} and {{name}} again", "Ada and Ada again"),  # repeated
        ("{{name}}{{surname}}", "AdaLovelace"),  # adjacent
        ("{{ name }} / {{  city\t}}", "Ada / London"),  # whitespace inside braces
        ("Age {{age}}", "Age {{age}}"),  # unsupported: unchanged
        ("{{Name}}", "{{Name}}"),  # case-sensitive: unsupported
        ("{{name}} is {{ age }} from {{city}}", "Ada is {{ age }} from London"),
        ("{name} {{{name}}} {{name}", "{name} {Ada} {{name}"),  # only {{...}} counts
        ("{{}} {{ }}", "{{}} {{ }}"),
        ("no placeholders", "no placeholders"),
        ("", ""),
    ],
)
def test_render_string(template, expected):
    assert render_string(template, VALUES) == expected


@pytest.mark.parametrize(
    ("contact", "template", "expected"),
    [
        ({"name": "Ada"}, "Hi {{name}} {{surname}}!", "Hi Ada !"),  # missing value -> ""
        ({"name": "Ada", "city": None}, "[{{city}}]", "[]"),  # None -> ""
        ({}, "{{fullName}}|{{email}}", "|"),
        ({"name": "Ada"}, "{{fullName}}", "Ada"),  # fullName trimmed
        ({"surname": "Lovelace"}, "{{fullName}}", "Lovelace"),
        ({"name": "  Ada ", "surname": " Lovelace  "}, "<{{fullName}}>", "<Ada Lovelace>"),
        ({"code": 42}, "{{code}}", "42"),  # non-string contact values are stringified
    ],
)
def test_missing_and_derived_values(contact, template, expected):
    assert render_string(template, placeholder_values(contact)) == expected


def test_values_from_a_model_like_object():
    class Obj:
        name, surname, email = "Ada", "Lovelace", ""

    values = placeholder_values(Obj())
    assert (
        values["fullName"] == "Ada Lovelace"
        and values["city"] == ""
        and set(values) == set(ALLOWED_FIELDS)
    )


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        # the seed's own example
        (
            [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Hello {{name}}, your city is {{city}}"}
                    ],
                }
            ],
            [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Hello Ada, your city is London"}],
                }
            ],
        ),
        # keys are never rendered, non-string leaves untouched
        (
            {"{{name}}": "{{name}}", "n": 5, "f": 1.5, "b": True, "z": None},
            {"{{name}}": "Ada", "n": 5, "f": 1.5, "b": True, "z": None},
        ),
        # deep nesting of lists and objects
        (
            {
                "a": [[{"b": ["{{city}}", {"c": "{{country}} {{age}}"}]}]],
                "d": {"e": {"f": "{{ email }}"}},
            },
            {"a": [[{"b": ["London", {"c": "UK {{age}}"}]}]], "d": {"e": {"f": "ada@example.com"}}},
        ),
        (["{{name}}", 1, None, ["{{surname}}"]], ["Ada", 1, None, ["Lovelace"]]),
        ("{{fullName}}", "Ada Lovelace"),  # a bare string is a leaf too
        (7, 7),
        (None, None),
        ({}, {}),
        ([], []),
    ],
)
def test_render_components(components, expected):
    original = copy.deepcopy(components)
    assert render_components(components, VALUES) == expected
    assert components == original  # pure: the input is not modified
