"""A real HAProxy (Debian) on 127.0.0.1 in front of rehearsal replicas, steered through its runtime API."""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kit.context.templates import render
from kit.docker.containers import free_port, http_status
from kit.errors import KitError

BACKEND = "replicas"


class LoadBalancerError(KitError):
    pass


@dataclass
class Slot:
    name: str
    port: int = 0  # 0: empty (held in maintenance)


class HAProxy:
    def __init__(self, folder: Path, slots: list[Slot], image: str) -> None:
        if shutil.which("haproxy") is None:
            raise LoadBalancerError("haproxy not found; `make haproxy` installs Debian's package (as root)")
        self.port = free_port()
        self.socket = folder / "haproxy.sock"
        self.config = folder / "haproxy.cfg"
        self.log = folder / "haproxy.log"
        text = render(
            "deploy/haproxy.cfg.j2",
            socket=self.socket,
            port=self.port,
            slots=slots,
            placeholder_port=free_port(),
            replicas=sum(1 for slot in slots if slot.port),
            image=image,
        )
        self.config.write_text(text)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        check = subprocess.run(["haproxy", "-c", "-q", "-f", str(self.config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise LoadBalancerError(f"{self.config}: haproxy rejects it:\n{check.stderr}")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(["haproxy", "-db", "-f", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not self.socket.exists() or http_status(f"http://127.0.0.1:{self.port}/") is None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise LoadBalancerError(f"haproxy did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def command(self, text: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(5)
            connection.connect(str(self.socket))
            connection.sendall(text.encode() + b"\n")
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[str, dict[str, str]]:
        """`show stat` rows of the backend's servers by name (status UP/DOWN/MAINT/DRAIN, scur, ...)."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {row["svname"]: row for row in rows if row["pxname"] == BACKEND and row["svname"] != "BACKEND"}

    def place(self, slot: Slot, port: int) -> None:
        """Point an empty slot at a replica and take it out of maintenance; health checks decide when it serves."""
        self.expect_ok(self.command(f"set server {BACKEND}/{slot.name} addr 127.0.0.1 port {port}"), "addr")
        self.expect_ok(self.command(f"set server {BACKEND}/{slot.name} state ready"), "state ready")
        slot.port = port

    def drain(self, slot: Slot) -> None:
        """No new requests to this slot; requests in flight finish (what removing a pod from endpoints does)."""
        self.expect_ok(self.command(f"set server {BACKEND}/{slot.name} state drain"), "state drain")

    def empty(self, slot: Slot) -> None:
        self.expect_ok(self.command(f"set server {BACKEND}/{slot.name} state maint"), "state maint")
        slot.port = 0

    def wait_for(self, slot: Slot, status: str, timeout_s: float, idle: bool = False) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            row = self.servers()[slot.name]
            if row["status"].startswith(status) and (not idle or row["scur"] == "0"):
                return time.monotonic() - started
            time.sleep(0.1)
        raise LoadBalancerError(
            f"haproxy: {slot.name} not {status} after {timeout_s:.0f} s: {self.servers()[slot.name]}"
        )

    @staticmethod
    def expect_ok(answer: str, what: str) -> None:
        if answer.strip() and not any(word in answer.lower() for word in ("changed", "no need")):
            raise LoadBalancerError(f"haproxy runtime API refused {what}: {answer.strip()}")
