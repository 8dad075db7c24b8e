"""manifest.json's dependencies match what the code uses (hassfest's rule, and the reverse)."""

from __future__ import annotations

import ast
from importlib.metadata import version
import json
from pathlib import Path

import homeassistant.components
from homeassistant.const import Platform

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "whatsapp"


def manifest() -> dict[str, object]:
    """Return the integration's manifest.json."""
    return json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))


def components_imported() -> set[str]:
    """Return every `homeassistant.components.<x>` the integration imports.

    As hassfest's ImportCollector in home-assistant/core script/hassfest/dependencies.py collects them).
    """
    found: set[str] = set()
    for path in INTEGRATION.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("homeassistant.components."):
                    found.add(node.module.split(".")[2])
                elif node.module == "homeassistant.components":
                    found.update(alias.name for alias in node.names)
    return found


def test_every_imported_component_is_allowed() -> None:
    """Hassfest: a component used must be a dependency, an after-dependency, or a platform here.

    A platform this integration provides (a `<platform>.py` file here).
    """
    data = manifest()
    declared = set(data.get("dependencies", [])) | set(data.get("after_dependencies", []))  # type: ignore[arg-type]
    # Part of hassfest's ALLOWED_USED_COMPONENTS (home-assistant/core script/hassfest/dependencies.py):
    # usable without being a dependency. device_trigger.py uses the first two; every entity
    # platform is in it too (media_source.py takes media_player's media classes and search types).
    declared |= {"device_automation", "homeassistant", "person"} | {platform.value for platform in Platform}
    platforms_here = {path.stem for path in INTEGRATION.glob("*.py")}
    missing = {
        component
        for component in components_imported()
        if component not in declared and component not in platforms_here
    }
    assert missing == set()


def test_dependencies_are_what_is_used() -> None:
    """The dependencies are http, websocket_api and image, and nothing else.

    The commands are registered on websocket_api in async_setup, so it must be set up first; the pictures are image entities, served by image's proxy; the Media panel's pictures come from a view registered on http in async_setup. Nothing else is needed.
    """
    data = manifest()
    assert data["dependencies"] == ["http", "image", "websocket_api"]
    used = components_imported()
    for dependency in data["dependencies"]:  # type: ignore[attr-defined]
        assert dependency in used, dependency
    # Entity platforms are forwarded by HA itself and need no dependency.
    assert {Platform.SENSOR.value, Platform.BINARY_SENSOR.value} <= used


def test_the_test_environment_has_the_frontend_home_assistant_requires() -> None:
    """tests/requirements.txt pins home-assistant-frontend at the version core's frontend manifest asks for.

    The logbook tests set up the frontend; pytest installs no integration's requirements, so a
    Home Assistant upgrade without the matching frontend pin would test against a different one.
    """
    frontend = Path(homeassistant.components.__file__).parent / "frontend" / "manifest.json"
    required = json.loads(frontend.read_text(encoding="utf-8"))["requirements"]
    assert required == [f"home-assistant-frontend=={version('home-assistant-frontend')}"]
