"""Registries as users meet them, on loopback: Debian's docker-registry with TLS from a private CA the tests make,
htpasswd (bcrypt) auth, a CA the engine trusts through /etc/docker/certs.d/<host:port>/ca.crt, and a TCP proxy the
test controls that cuts a connection after N bytes.

The engine skips certificate checks for registries on 127.0.0.0/8, so these listen on [::1] under `registry.test`,
a name /etc/hosts maps to ::1 (the line is added once, idempotently)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import bcrypt
import requests
import yaml

HOSTNAME = "registry.test"
HOSTS_LINE = f"::1 {HOSTNAME}"
CERTS_D = Path("/etc/docker/certs.d")


def ensure_hosts_entry() -> None:
    hosts = Path("/etc/hosts")
    lines = hosts.read_text().splitlines()
    if HOSTS_LINE not in (line.strip() for line in lines):
        with hosts.open("a") as handle:
            handle.write(f"{HOSTS_LINE}\n")


def free_port_v6() -> int:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
        probe.bind(("::1", 0))
        return int(probe.getsockname()[1])


class CertificateAuthority:
    """A private CA and one server certificate for registry.test, made with openssl."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = folder / "ca.crt", folder / "ca.key"
        self.server_cert, self.server_key = folder / "server.crt", folder / "server.key"
        run = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj"]
        subprocess.run(
            [*run, "/CN=triton-kit test CA", "-keyout", self.key, "-out", self.cert], check=True, capture_output=True
        )
        request = folder / "server.csr"
        subprocess.run(
            [
                "openssl",
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                f"/CN={HOSTNAME}",
                "-keyout",
                self.server_key,
                "-out",
                request,
            ],
            check=True,
            capture_output=True,
        )
        extensions = folder / "san.ext"
        extensions.write_text(f"subjectAltName=DNS:{HOSTNAME}\nextendedKeyUsage=serverAuth\n")
        subprocess.run(
            ["openssl", "x509", "-req", "-in", request, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial",
             "-days", "2", "-extfile", extensions, "-out", self.server_cert],
            check=True,
            capture_output=True,
        )  # fmt: skip


class TlsRegistry:
    """docker-registry on [::1]:port with TLS (and htpasswd users when given); `trust()` writes certs.d as users do."""

    def __init__(
        self, root: Path, ca: CertificateAuthority, users: dict[str, str] | None = None, readonly: bool = False
    ) -> None:
        ensure_hosts_entry()
        root.mkdir(parents=True, exist_ok=True)
        self.ca = ca
        self.port = free_port_v6()
        self.address = f"{HOSTNAME}:{self.port}"
        self.trusted: list[Path] = []
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
            "http": {
                "addr": f"[::1]:{self.port}",
                "tls": {"certificate": str(ca.server_cert), "key": str(ca.server_key)},
            },
        }
        if readonly:  # pulls work, pushes are refused after the kit has tagged the image locally
            config["storage"]["maintenance"] = {"readonly": {"enabled": True}}
        if users:
            htpasswd = root / "htpasswd"
            htpasswd.write_text(
                "".join(
                    f"{user}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=5)).decode()}\n"
                    for user, pw in users.items()
                )
            )
            config["auth"] = {"htpasswd": {"realm": "triton-kit-tests", "path": str(htpasswd)}}
        self.config = root / "config.yml"
        self.config.write_text(yaml.safe_dump(config))
        self.log = root / "registry.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(["docker-registry", "serve", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"https://{self.address}/v2/", verify=str(self.ca.cert), timeout=2).status_code in (
                    200,
                    401,
                ):
                    return
            except requests.exceptions.ConnectionError:
                pass
            assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)

    def trust(self, address: str | None = None) -> None:
        """The CA where the engine (and the kit) look for it: /etc/docker/certs.d/<host:port>/ca.crt."""
        folder = CERTS_D / (address or self.address)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.ca.cert, folder / "ca.crt")
        self.trusted.append(folder)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)

    def close(self) -> None:
        self.stop()
        for folder in self.trusted:
            shutil.rmtree(folder, ignore_errors=True)


class CuttingProxy:
    """A TCP proxy on [::1] in front of a registry that cuts the first `cuts` connections which carry more than
    `after_bytes` towards the registry (a blob upload), then passes everything through."""

    def __init__(self, upstream_port: int, after_bytes: int, cuts: int = 1) -> None:
        self.upstream_port = upstream_port
        self.after_bytes = after_bytes
        self.cuts_left = cuts
        self.cut = 0
        self.lock = threading.Lock()
        self.server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("::1", 0))
        self.server.listen(64)
        self.port = int(self.server.getsockname()[1])
        self.address = f"{HOSTNAME}:{self.port}"
        self.running = True
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while self.running:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("::1", self.upstream_port))
        except OSError:
            client.close()
            return
        threading.Thread(target=self.pipe, args=(upstream, client, False), daemon=True).start()
        self.pipe(client, upstream, True)

    def pipe(self, source: socket.socket, target: socket.socket, towards_registry: bool) -> None:
        sent = 0
        try:
            while chunk := source.recv(65536):
                sent += len(chunk)
                if towards_registry and sent > self.after_bytes and self.take_cut():
                    break
                target.sendall(chunk)
        except OSError:
            pass
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def take_cut(self) -> bool:
        with self.lock:
            if self.cuts_left <= 0:
                return False
            self.cuts_left -= 1
            self.cut += 1
            return True

    def close(self) -> None:
        self.running = False
        self.server.close()


class ConnectProxy:
    """An HTTPS proxy on 127.0.0.1 (HTTP CONNECT, then bytes both ways) that records the targets it was asked for."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        method, target = head.split(b" ", 2)[:2]
        host, _, port = target.decode().rpartition(":")
        if method != b"CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        self.targets.append(target.decode())
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)))
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=relay, args=(upstream, client), daemon=True).start()
        relay(client, upstream)

    def close(self) -> None:
        self.server.close()


def relay(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    for end in (source, target):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        end.close()
