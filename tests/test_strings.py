"""The user-facing strings cover everything the code and services.yaml refer to."""

from __future__ import annotations

import ast
from collections.abc import Iterator
import json
from pathlib import Path
import re
import string
from typing import Any

import pytest
import yaml

from custom_components.whatsapp import const
from custom_components.whatsapp.pairing import PAIRING_QR_KEY
from custom_components.whatsapp.sensor import SENSORS
from custom_components.whatsapp.worker_link import TRANSLATION_KEY_BY_CALL_ERROR

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "whatsapp"
LANGUAGES = ("en", "de")


def strings(language: str) -> dict:
    """Return one language's translation file."""
    return json.loads((INTEGRATION / "translations" / f"{language}.json").read_text(encoding="utf-8"))


def translation_keys_in_code() -> set[str]:
    """Return every `translation_key="..."` and `_error("...")` literal in the integration's code."""
    keys = set()
    for path in INTEGRATION.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "translation_key" and isinstance(node.value, ast.Constant):
                keys.add(node.value.value)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_error"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                keys.add(node.args[0].value)
    return keys


@pytest.mark.parametrize("language", LANGUAGES)
def test_exceptions_and_issues_are_translated(language: str) -> None:
    """Exceptions and issues are translated."""
    translated = set(strings(language)["exceptions"]) | set(strings(language)["issues"])
    needed = (translation_keys_in_code() | set(TRANSLATION_KEY_BY_CALL_ERROR.values())) - {
        "picture", "worker_connected", "scope", *(d.key for d in SENSORS),
    }
    assert needed <= translated, needed - translated


@pytest.mark.parametrize("language", LANGUAGES)
def test_services_and_fields_are_translated(language: str) -> None:
    """Services and fields are translated."""
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    translated = strings(language)["services"]
    assert set(services) == set(translated)
    for service, spec in services.items():
        assert set(spec["fields"]) == set(translated[service].get("fields", {})), service
    icons = json.loads((INTEGRATION / "icons.json").read_text(encoding="utf-8"))
    assert set(icons["services"]) == set(services)


@pytest.mark.parametrize("language", LANGUAGES)
def test_sensor_states_are_translated(language: str) -> None:
    """Sensor states are translated."""
    entity = strings(language)["entity"]
    for description in SENSORS:
        assert description.key in entity["sensor"]
        for option in description.options or []:
            assert option in entity["sensor"][description.key]["state"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_issues_and_image_entities_are_translated(language: str) -> None:
    """Issue keys come from constants, which the scan above cannot see."""
    translated = strings(language)
    issue_keys = {
        value for name, value in vars(const).items() if name.startswith("ISSUE_") and name != "ISSUE_PAIRING"
    }
    assert issue_keys <= set(translated["issues"]), issue_keys - set(translated["issues"])
    for issue_key in issue_keys:
        assert translated["issues"][issue_key]["title"] and translated["issues"][issue_key]["description"]
    assert "{code}" in translated["issues"]["pairing_code"]["description"]
    icons = json.loads((INTEGRATION / "icons.json").read_text(encoding="utf-8"))
    # The picture entity has no name of its own (it is the contact, named after its device).
    assert "name" not in translated["entity"]["image"]["picture"]
    assert translated["entity"]["image"][PAIRING_QR_KEY]["name"]
    for key in ("picture", PAIRING_QR_KEY):
        assert key in icons["entity"]["image"]


# hassfest's rules for every translated string (home-assistant/core script/hassfest/translations.py,
# validate_translation_value, read at 00a70521db04c9882a34d93ca23bee2f6d2334d5; its HTML check is
# homeassistant/helpers/config_validation.py string_with_no_html, HA 2026.10.4).
RE_HTML = re.compile(r"<[a-z].*?>", re.IGNORECASE)
RE_PLACEHOLDER_IN_SINGLE_QUOTES = re.compile(r"'{\w+}'")
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)
# Keys of selector options and entity states (hassfest's RE_TRANSLATION_KEY).
RE_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")


def hassfest_problems(value: str) -> list[str]:
    """Return what hassfest would say about one translated string (empty when it passes)."""
    problems = []
    if RE_HTML.search(value):
        problems.append("the string should not contain HTML")
    if RE_PLACEHOLDER_IN_SINGLE_QUOTES.search(value):
        problems.append("the string should not contain placeholders inside single quotes")
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(value) if field]
    except ValueError as err:
        problems.append(f"the string is not a valid format string: {err}")
    else:
        problems.extend(
            f"placeholder {field!r} is not a valid identifier" for field in fields if not field.isidentifier()
        )
    if RE_COMBINED_REFERENCE.search(value):
        problems.append("the string should not contain combined translations")
    if value != value.strip():
        problems.append("the string should not contain leading or trailing spaces")
    if RE_URL.search(value):
        problems.append("the string should not contain URLs, please use description placeholders instead")
    return problems


def leaves(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (path, string) in a translation file."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else key)
    else:
        assert isinstance(node, str), path
        yield path, node


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("expected <number>@s.whatsapp.net", "HTML"),
        ("'{jid}' is not a contact", "single quotes"),
        ("{not-an-identifier} here", "valid identifier"),
        ("[%key:common::x%] and more", "combined"),
        (" padded", "leading or trailing"),
        ("see https://example.com/help", "URLs"),
    ],
)
def test_the_rules_catch_what_hassfest_refuses(value: str, problem: str) -> None:
    """The checker below can fail: each rule refuses its own bad example."""
    assert any(problem in found for found in hassfest_problems(value)), hassfest_problems(value)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_passes_hassfest(language: str) -> None:
    """Every string passes hassfest."""
    problems = {
        path: found for path, value in leaves(strings(language)) if (found := hassfest_problems(value))
    }
    assert problems == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_option_and_state_keys_are_translation_keys(language: str) -> None:
    """Option and state keys are translation keys."""
    translated = strings(language)
    keys = [option for selector in translated["selector"].values() for option in selector["options"]]
    for platform in translated["entity"].values():
        for entity in platform.values():
            keys.extend(entity.get("state", {}))
            for attribute in entity.get("state_attributes", {}).values():
                keys.extend(attribute.get("state", {}))
    assert keys
    assert [key for key in keys if not RE_TRANSLATION_KEY.match(key)] == []


def placeholders(value: str) -> set[str]:
    """Return the placeholders a translated string uses."""
    return {field for _, field, _, _ in string.Formatter().parse(value) if field}


def test_languages_have_the_same_strings_and_placeholders() -> None:
    """A translation that drops or invents a placeholder would show `{name}` or fail to format."""
    english = dict(leaves(strings("en")))
    for language in LANGUAGES:
        other = dict(leaves(strings(language)))
        assert set(other) == set(english), language
        for path, value in other.items():
            assert placeholders(value) == placeholders(english[path]), (language, path)
