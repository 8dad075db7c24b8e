"""The user-facing strings cover everything the code and services.yaml refer to."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from custom_components.whatsapp.sensor import SENSORS

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "whatsapp"
LANGUAGES = ("en", "de")


def strings(language: str) -> dict:
    return json.loads((INTEGRATION / "translations" / f"{language}.json").read_text(encoding="utf-8"))


def translation_keys_in_code() -> set[str]:
    """Every `translation_key=\"...\"` and `_error(\"...\")` literal in the integration's code."""
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
    from custom_components.whatsapp.worker_link import TRANSLATION_KEY_BY_CALL_ERROR

    translated = set(strings(language)["exceptions"]) | set(strings(language)["issues"])
    needed = (translation_keys_in_code() | set(TRANSLATION_KEY_BY_CALL_ERROR.values())) - {
        "picture", "worker_connected", "scope", *(d.key for d in SENSORS),
    }
    assert needed <= translated, needed - translated


@pytest.mark.parametrize("language", LANGUAGES)
def test_services_and_fields_are_translated(language: str) -> None:
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    translated = strings(language)["services"]
    assert set(services) == set(translated)
    for service, spec in services.items():
        assert set(spec["fields"]) == set(translated[service]["fields"]), service
    icons = json.loads((INTEGRATION / "icons.json").read_text(encoding="utf-8"))
    assert set(icons["services"]) == set(services)


@pytest.mark.parametrize("language", LANGUAGES)
def test_sensor_states_are_translated(language: str) -> None:
    entity = strings(language)["entity"]
    for description in SENSORS:
        assert description.key in entity["sensor"]
        for option in description.options or []:
            assert option in entity["sensor"][description.key]["state"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_issues_and_image_entities_are_translated(language: str) -> None:
    """Issue keys come from constants, which the scan above cannot see."""
    from custom_components.whatsapp import const
    from custom_components.whatsapp.pairing import PAIRING_QR_KEY

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
