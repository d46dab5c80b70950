"""The one JSON parser of the API (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

Two rules hold for every endpoint here, and nowhere else:

- Nesting deeper than MAX_JSON_DEPTH (64) is a 400 `too_deep`, found before
  the body is parsed: Python's json recurses once per level, and a body
  nested 1,000 deep was a RecursionError (a 500) on every JSON endpoint.
  No payload of this API nests deeper than 5; 64 leaves custom data room.
- A NUL (\\u0000) in any key or string is a 400 `null_characters_not_allowed`
  naming its path: PostgreSQL text and jsonb cannot store one. Serializer
  fields need no check of their own.

Cost: two str.count calls for a body with at most 64 brackets (nearly every
request); otherwise a few C-speed passes over the bytes (json_depth_exceeds):
~60 ms for a 4.8 MB array of 100,000 objects, where json.loads itself takes
~1 s on the same loaded 2-core machine.
"""
import codecs
import math

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ErrorDetail, ParseError, ValidationError
from rest_framework.utils import json

MAX_JSON_DEPTH = 64
_NOT_QUOTE_OR_BRACKET = bytes(c for c in range(256) if c not in b'"[]{}')


class TooDeep(ParseError):
    default_code = "too_deep"


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when `text` nests arrays/objects deeper than `limit`. Brackets
    that do not balance are a parse error here (json would find out only
    after recursing into them). Only C-speed str/bytes operations: escaped
    backslashes and quotes go, then everything but quotes and brackets, then
    the strings (empty ones first: most strings hold no bracket), then one
    pass a level peels the innermost bracket pairs."""
    if text.count("[") + text.count("{") <= limit:
        return False
    data = text.encode("utf-8", "surrogatepass")
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    data = data.translate(None, _NOT_QUOTE_OR_BRACKET).replace(b'""', b"")
    if b'"' in data:
        data = b"".join(data.split(b'"')[::2])
    brackets = data.replace(b"{", b"[").replace(b"}", b"]")
    for _ in range(limit):
        peeled = brackets.replace(b"[]", b"")
        if not peeled:
            return False
        if peeled == brackets:
            raise ParseError("JSON parse error - unbalanced brackets.")
        brackets = peeled
    return True


def nul_path(value):
    """Where the first NUL of a parsed JSON value is: the dotted path of the
    string holding it, or of the object whose key holds it ("" for the top
    level); None when there is none. Iterative: no recursion to bound."""
    stack = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return where
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((child, f"{where}.{i}" if where else str(i)) for i, child in enumerate(item))
    return None


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):  # 1e999: no column or jsonb value can hold it
        raise ValueError(f"Number out of range: {text[:40]}")
    return number


def check_depth(text: str) -> None:
    if json_depth_exceeds(text):
        raise TooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")


def check_nul(text: str, value) -> None:
    # A NUL can only come from the escape \u0000: json refuses raw control characters.
    if "\\u0000" not in text:
        return
    path = nul_path(value)
    if path is not None:
        detail = ErrorDetail("Null characters are not allowed.", code="null_characters_not_allowed")
        raise ValidationError({path: [detail]} if path else [detail])


def loads(text: str):
    """Parses JSON text under this module's rules: depth first, then the
    parse (no NaN, Infinity or overflowing floats), then NULs."""
    check_depth(text)
    try:
        value = json.loads(text, parse_constant=json.strict_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"JSON parse error - {exc}") from None
    check_nul(text, value)
    return value


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read() if stream is not None else ""
        except (ValueError, LookupError) as exc:  # undecodable bytes, unknown charset
            raise ParseError(f"JSON parse error - {exc}") from None
        return loads(text)
