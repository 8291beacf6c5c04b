"""Base profiles, defined once: which Triton image a scoring image starts from, and what that base provides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kit.errors import KitError
from scoring import layout

# numpy 1.x: the python backend stub of Triton 2.51 reads numpy 1.x array descriptors (numpy 2 outputs arrive empty).
CPU_NUMPY_PIN = "numpy==1.26.4"


# How Triton's flags are spelled per release (the auto-complete flag, loopback binding) is not written here: the
# supervisor reads the release's option table, scoring/triton_options/v<triton_version>.json.


@dataclass(frozen=True)
class BaseProfile:
    name: str
    image: str
    triton_version: str
    os_release: str
    python_version: str
    has_python_backend: bool
    # The highest glibc symbol version the base's C library provides: wheels and ELF files must not need more.
    glibc: str
    # Built by this kit (`make base`) rather than pulled from a registry.
    embedded: bool
    # pip --platform tags accepted by the base's C library, for the host-side wheelhouse.
    wheel_platforms: tuple[str, ...]
    # How the scoring runtime gets its Python: "base" (the base's own, at or above the in-image floor in
    # scoring/ruff.toml) or "standalone" (a relocatable CPython unpacked at build time, for bases whose Python is
    # too old).
    scoring_python: str
    # Interpreter that runs the scoring app inside the image.
    scoring_python_path: str
    # Python version the scoring wheels are downloaded for.
    scoring_python_version: str
    # Pins the base already provides to the scoring Python (not installed again).
    base_provides: tuple[str, ...]


NGC_20_09 = BaseProfile(
    name="ngc-20.09",
    image="nvcr.io/nvidia/tritonserver:20.09-py3",
    triton_version="2.3.0",
    os_release="Ubuntu 18.04",
    python_version="3.6",
    has_python_backend=False,
    glibc="2.27",
    embedded=False,
    wheel_platforms=("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_27_x86_64"),
    scoring_python="standalone",
    scoring_python_path=f"{layout.STANDALONE_PYTHON_DIR}/bin/python3",
    scoring_python_version="3.11",
    base_provides=(),
)

CPU = BaseProfile(
    name="cpu",
    image="triton-kit/tritonserver-cpu:2.51.0-py3.11",
    triton_version="2.51.0",
    os_release="Debian 12 (bookworm)",
    python_version="3.11",
    has_python_backend=True,
    glibc="2.36",
    embedded=True,
    wheel_platforms=(
        "manylinux2014_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux_2_28_x86_64",
        "manylinux_2_34_x86_64",
        "manylinux_2_35_x86_64",
        "manylinux_2_36_x86_64",
    ),
    scoring_python="base",
    scoring_python_path="/usr/bin/python3",
    scoring_python_version="3.11",
    base_provides=(CPU_NUMPY_PIN,),
)

# A current NGC release (facts from NVIDIA's 24.12 release notes; never pulled or built here: rendered and linted).
NGC_24_12 = BaseProfile(
    name="ngc-24.12",
    image="nvcr.io/nvidia/tritonserver:24.12-py3",
    triton_version="2.53.0",
    os_release="Ubuntu 24.04",
    python_version="3.12",
    has_python_backend=True,
    glibc="2.39",
    embedded=False,
    wheel_platforms=(
        "manylinux2014_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux_2_28_x86_64",
        "manylinux_2_34_x86_64",
        "manylinux_2_35_x86_64",
        "manylinux_2_39_x86_64",
    ),
    scoring_python="base",
    scoring_python_path="/usr/bin/python3",
    scoring_python_version="3.12",
    base_provides=(),
)

# Triton flags for kit-started containers and test servers that share the host network: gRPC and metrics off, so
# parallel containers never compete for those ports.
SHARED_NETWORK_TRITON_ARGS = ("--allow-grpc=false", "--allow-metrics=false")

PROFILES: dict[str, BaseProfile] = {profile.name: profile for profile in (NGC_20_09, NGC_24_12, CPU)}
AUTO = "auto"


class ImageSource(Protocol):
    """What base resolution needs from Docker: is an image here, and can it be pulled (with the reason if not)."""

    def has_image(self, reference: str) -> bool: ...

    def try_pull(self, reference: str) -> str | None:
        """Pull the image; return None on success or a one-line reason on failure."""
        ...


@dataclass(frozen=True)
class ResolvedBase:
    profile: BaseProfile
    reason: str

    def describe(self) -> str:
        return f"base: {self.profile.name} ({self.profile.image}) - {self.reason}"


class UnknownBaseError(KitError):
    pass


def resolve_base(requested: str, images: ImageSource) -> ResolvedBase:
    """Pick the base profile for BASE=<requested>; `auto` prefers NGC 20.09 when it is here or pullable."""
    requested = (requested or AUTO).strip()
    if requested != AUTO:
        if requested not in PROFILES:
            choices = ", ".join([AUTO, *PROFILES])
            raise UnknownBaseError(f"BASE={requested!r} is not a base profile; use one of: {choices}")
        return ResolvedBase(PROFILES[requested], f"forced by BASE={requested}")
    if images.has_image(NGC_20_09.image):
        return ResolvedBase(NGC_20_09, "present locally")
    failure = images.try_pull(NGC_20_09.image)
    if failure is None:
        return ResolvedBase(NGC_20_09, "pulled")
    return ResolvedBase(CPU, f"{NGC_20_09.image} is not local and cannot be pulled ({failure})")
