"""The pinned standalone CPython for ngc-20.09: verified by checksum, and its absence stops a build before docker."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.context import standalone_python
from kit.docker.containers import free_port
from kit.errors import ExitCode, KitError
from kit.pipeline import ImagePlan, check_build_inputs
from kit.spec.bases import CPU, NGC_20_09
from kit.spec.image import load_spec
from tests.support.image_folders import EXAMPLE


@pytest.fixture
def wrong_archive_server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that serves a file which is not the pinned archive."""
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / standalone_python.ARCHIVE).write_bytes(b"not a python build")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path / "served"), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{standalone_python.ARCHIVE}"
    server.shutdown()


def test_unreachable_download_says_what_to_put_where(tmp_path: Path) -> None:
    with pytest.raises(standalone_python.StandalonePythonMissing) as raised:
        standalone_python.ensure_standalone_python(tmp_path, f"http://127.0.0.1:{free_port()}/python.tar.gz")
    message = str(raised.value)
    assert str(tmp_path / standalone_python.ARCHIVE) in message and standalone_python.SHA256 in message
    assert not (tmp_path / standalone_python.ARCHIVE).exists()


def test_download_with_the_wrong_checksum_is_refused_and_not_kept(tmp_path: Path, wrong_archive_server: str) -> None:
    with pytest.raises(standalone_python.StandalonePythonMissing, match="does not match the pinned"):
        standalone_python.ensure_standalone_python(tmp_path / "cache", wrong_archive_server)
    assert not any((tmp_path / "cache").iterdir())


def test_a_cached_file_with_the_wrong_checksum_is_not_used(tmp_path: Path) -> None:
    (tmp_path / standalone_python.ARCHIVE).write_bytes(b"truncated")
    assert standalone_python.cached_archive(tmp_path) is None


def test_build_of_a_standalone_profile_stops_before_docker(tmp_path: Path) -> None:
    folder = EXAMPLE
    plan = ImagePlan(folder, load_spec(folder), NGC_20_09, NGC_20_09.image)
    unreachable = f"http://127.0.0.1:{free_port()}/python.tar.gz"
    with pytest.raises(KitError, match="nothing was built") as raised:
        check_build_inputs([plan], tmp_path, unreachable)
    assert raised.value.exit_code == ExitCode.VALIDATION and "ngc-20.09" in str(raised.value)
    check_build_inputs([ImagePlan(folder, load_spec(folder), CPU, CPU.image)], tmp_path, unreachable)
