"""Runs inside an image (its own Python, standard library only, no network): prints the installed Debian and Python
packages as JSON for the SBOM. Kept free of kit imports because it is sent to the container as source."""

import importlib.metadata
import json
import os
import sys

DPKG_STATUS = "/var/lib/dpkg/status"
OS_RELEASE = "/etc/os-release"


def paragraphs(text):
    fields, key = {}, None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t" and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields:
        yield fields


def debian_packages():
    if not os.path.exists(DPKG_STATUS):
        return []
    with open(DPKG_STATUS, encoding="utf-8", errors="replace") as status:
        entries = list(paragraphs(status.read()))
    return [
        {"name": entry["Package"], "version": entry.get("Version", ""), "arch": entry.get("Architecture", "")}
        for entry in entries
        if entry.get("Status", "").endswith(" installed") and "Package" in entry
    ]


def python_packages():
    found, seen = [], set()
    for location in sys.path:
        if not os.path.isdir(location):
            continue
        for distribution in importlib.metadata.distributions(path=[location]):
            name, version = distribution.metadata["Name"], distribution.version
            if not name or (name.lower(), version, location) in seen:
                continue
            seen.add((name.lower(), version, location))
            license_text = distribution.metadata.get("License-Expression") or distribution.metadata.get("License")
            found.append({"name": name, "version": version, "location": location, "license": license_text or ""})
    return found


def os_release():
    if not os.path.exists(OS_RELEASE):
        return {}
    with open(OS_RELEASE, encoding="utf-8") as release:
        pairs = (line.rstrip("\n").split("=", 1) for line in release if "=" in line)
        return {key: value.strip('"') for key, value in pairs}


print(json.dumps({"os": os_release(), "debian": debian_packages(), "python": python_packages()}))
