"""Prints the Python requirements that a plain Home Assistant Core start needs and that are not
installed yet, one per line (empty output: nothing to install).

The e2e suite starts HA with --skip-pip so that HA never reaches PyPI on its own. HA still loads
its default integrations, and `get_services` (which Developer Tools uses) imports the base entity
components, e.g. `ai_task` -> `conversation` -> `hassil`. Their requirements are not dependencies
of the `homeassistant` wheel, so scripts/test-e2e.sh installs what this script lists, once."""

from __future__ import annotations

import inspect
import json
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

import homeassistant.components
from homeassistant import bootstrap
from homeassistant.helpers import service

COMPONENTS = Path(homeassistant.components.__path__[0])


def base_service_components() -> set[str]:
    """The components `get_services` imports (helpers.service._base_components)."""
    source = inspect.getsource(service._base_components)  # noqa: SLF001
    imported = source.split("import (", 1)[1].split(")", 1)[0]
    return set(re.findall(r"[a-z_]+", imported))


def manifest(domain: str) -> dict:
    path = COMPONENTS / domain / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def wanted_domains() -> set[str]:
    domains = set(bootstrap.CORE_INTEGRATIONS) | set(bootstrap.DEFAULT_INTEGRATIONS) | set(bootstrap.FRONTEND_INTEGRATIONS)
    domains |= set(bootstrap.LOGGING_AND_HTTP_DEPS_INTEGRATIONS) | base_service_components() | {"frontend", "image"}
    pending = list(domains)
    while pending:
        for dependency in manifest(pending.pop()).get("dependencies", []):
            if dependency not in domains:
                domains.add(dependency)
                pending.append(dependency)
    return domains


def is_installed(requirement: Requirement) -> bool:
    try:
        version = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return False
    return requirement.specifier.contains(version, prereleases=True)


def main() -> None:
    missing = set()
    for domain in sorted(wanted_domains()):
        for line in manifest(domain).get("requirements", []):
            if not is_installed(Requirement(line)):
                missing.add(line)
    for line in sorted(missing):
        print(line)


if __name__ == "__main__":
    main()
