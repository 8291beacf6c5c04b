"""NGC stand-ins: one local image per NGC profile that reproduces what the kit relies on in that release.

Built from the kit's cpu base (templates/standin/): NGC's layout, a uid-1000 triton-server account, a system python3
of the release's minor version (pyenv's 3.6 and 3.12 copied in, relocatable), and a tritonserver that accepts exactly
the release's options from its table (scoring/triton_options/) with its strict-config default, then lets the cpu
base's Triton serve. Tagged triton-kit-standin/<profile>:<release>, never nvcr.io/... (BASE=auto would take it).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import docker

from kit import PROJECT_ROOT
from kit.base.cpu_base import build_cpu_base
from kit.context.templates import render
from kit.docker.build import build_image
from kit.spec.bases import CPU, PROFILES
from scoring import triton_options
from tests.support.relocatable_python import copy_interpreter, pyenv_python

STANDIN_DIR = PROJECT_ROOT / "build" / ".standins"


@dataclass(frozen=True)
class Standin:
    profile: str
    # The system python3 the real image has (Ubuntu 18.04: 3.6; Ubuntu 24.04: 3.12): pyenv's newest of that minor.
    python_version: str
    ngc_release: str

    @property
    def tag(self) -> str:
        return f"triton-kit-standin/{self.profile}:{PROFILES[self.profile].triton_version}"


STANDINS = {
    "ngc-20.09": Standin("ngc-20.09", "3.6", "20.09"),
    "ngc-24.12": Standin("ngc-24.12", "3.12", "24.12"),
}


def render_context(standin: Standin, cpu_base_id: str) -> Path:
    profile = PROFILES[standin.profile]
    table_path = triton_options.TABLES_DIR / f"v{profile.triton_version}.json"
    table = json.loads(table_path.read_text())
    directory = STANDIN_DIR / standin.profile
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    values = {
        "profile": profile,
        "release": profile.triton_version,
        "real_release": CPU.triton_version,
        "ngc_release": standin.ngc_release,
        "python_version": standin.python_version,
        "cpu_base": cpu_base_id,
        "options": table["options"],
        "strict_default": "true" if table["strict_model_config_default"] else "false",
        "table_source": f"{table['tag']}:{table['source']} blob {table['blob'][:12]}",
    }
    (directory / "Dockerfile").write_text(render("standin/Dockerfile.j2", **values))
    (directory / "tritonserver").write_text(render("standin/tritonserver.sh.j2", **values))
    copy_interpreter(pyenv_python(standin.python_version), directory / "system-python")
    return directory


def build_standin(docker_client: docker.DockerClient, profile: str) -> str:
    """Build (or reuse from the build cache) the stand-in for `profile`; return its tag."""
    standin = STANDINS[profile]
    try:
        cpu_base_id = str(docker_client.images.get(CPU.image).id)
    except docker.errors.ImageNotFound:
        cpu_base_id = build_cpu_base(docker_client).image_id
    context = render_context(standin, cpu_base_id)
    build_image(docker_client, context, [standin.tag], label=f"standin-{profile}")
    return standin.tag
