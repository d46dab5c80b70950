"""The orjson renderer writes what DRF's JSONRenderer writes."""
import datetime
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from crm.renderers import FastJSONRenderer

SAMPLES = [
    {"when": datetime.datetime(2024, 2, 29, 12, 30, 5, 123456, tzinfo=datetime.timezone.utc)},
    {"when": datetime.datetime(2024, 2, 29, 12, 30, 5, tzinfo=datetime.timezone.utc), "day": datetime.date(2024, 1, 2)},
    {"naive": datetime.datetime(2024, 2, 29, 12, 30), "at": datetime.time(8, 15)},
    {"price": decimal.Decimal("12.50"), "id": uuid.UUID(int=7), "lazy": gettext_lazy("Not found.")},
    {"text": "Zoë ☃ \u2028 \u2029", "nested": [{"a": None, "b": True, "c": 1.5, "d": [1, 2, 3]}], "t": (1, "x")},
    [],
    {0: "int key"},
]


@pytest.mark.parametrize("data", SAMPLES)
def test_same_output_as_drf(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_none_is_empty_and_huge_integers_fall_back():
    assert FastJSONRenderer().render(None) == b""
    assert FastJSONRenderer().render({"n": 2**70}) == b'{"n":1180591620717411303424}'
