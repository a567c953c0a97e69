"""DRF field validation with DRF's own messages, for the request bodies the sandbox accepts."""

from __future__ import annotations

import re
from typing import Any

from mcp_server.sandbox.errors import ApiError, invalid

TRUE_VALUES = {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"}
FALSE_VALUES = {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"}
INTEGER = re.compile(r"^-?\d+(\.0*)?$")


def body_object(body: Any) -> dict[str, Any]:
    """The request body as a dict, as a DRF serializer insists."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise invalid(f"Invalid data. Expected a dictionary, but got {_type_name(body)}.")
    return body


def _type_name(value: Any) -> str:
    return type(value).__name__


def text(value: Any, attr: str, *, max_length: int | None = None, allow_null: bool = True) -> str | None:
    """A CharField: numbers are turned into strings, containers refused."""
    if value is None:
        if allow_null:
            return None
        raise invalid("This field may not be null.", attr, "null")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid("Not a valid string.", attr)
    result = str(value)
    if max_length is not None and len(result) > max_length:
        raise invalid(f"Ensure this field has no more than {max_length} characters.", attr, "max_length")
    return result


def boolean(value: Any, attr: str) -> bool:
    """A BooleanField."""
    if value is None:
        raise invalid("This field may not be null.", attr, "null")
    if (value in (0, 1) and not isinstance(value, float)) or (
        isinstance(value, str) and value in TRUE_VALUES | FALSE_VALUES
    ):
        return value in (1, True) or value in TRUE_VALUES
    raise invalid("Must be a valid boolean.", attr)


def integer(value: Any, attr: str, *, allow_null: bool = True) -> int | None:
    """An IntegerField: ints, and strings or floats holding a whole number."""
    if value is None:
        if allow_null:
            return None
        raise invalid("This field may not be null.", attr, "null")
    if isinstance(value, bool):
        raise invalid("A valid integer is required.", attr)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and INTEGER.match(value.strip()):
        return int(float(value.strip())) if "." in value else int(value.strip())
    raise invalid("A valid integer is required.", attr)


def listing(value: Any, attr: str) -> list[Any]:
    """The outer check of a ListField or a many-related field."""
    if not isinstance(value, list):
        raise invalid(f'Expected a list of items but got type "{_type_name(value)}".', attr, "not_a_list")
    return value


def texts(value: Any, attr: str, *, allow_null: bool = False) -> list[str] | None:
    """A ListField of CharFields; item errors are reported as `attr__index`."""
    if value is None and allow_null:
        return None
    return [str(text(item, f"{attr}__{index}", allow_null=False)) for index, item in enumerate(listing(value, attr))]


def integers(value: Any, attr: str, *, max_length: int | None = None, allow_empty: bool = True) -> list[int]:
    """A ListField of IntegerFields with DRF's empty and length checks."""
    items = listing(value, attr)
    if not allow_empty and not items:
        raise invalid("This list may not be empty.", attr, "empty")
    if max_length is not None and len(items) > max_length:
        raise invalid(f"Ensure this field has no more than {max_length} elements.", attr, "max_length")
    return [int(integer(item, f"{attr}__{index}", allow_null=False) or 0) for index, item in enumerate(items)]


def primary_keys(value: Any, attr: str, existing: set[int]) -> list[int]:
    """A many PrimaryKeyRelatedField: each id must be a pk of an existing object."""
    ids = []
    for item in listing(value, attr):
        if isinstance(item, bool) or not isinstance(item, int | str) or not str(item).lstrip("-").isdigit():
            raise invalid(f"Incorrect type. Expected pk value, received {_type_name(item)}.", attr, "incorrect_type")
        pk = int(item)
        if pk not in existing:
            raise invalid(f'Invalid pk "{item}" - object does not exist.', attr, "does_not_exist")
        ids.append(pk)
    return ids


def required(body: dict[str, Any], attr: str) -> Any:
    """A field the serializer requires."""
    if attr not in body:
        raise ApiError(400, "validation_error", "required", "This field is required.", attr)
    return body[attr]
