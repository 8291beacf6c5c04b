"""Container entrypoint: run tritonserver, wait until it is ready, then run Gunicorn; stop both together.

The scoring port is bound first, by the supervisor: while Triton loads models it answers liveness (200) and
readiness (503) itself, then hands the same listening socket to Gunicorn (`bind = fd://N`), so the port never
refuses a connection between the two phases.

Exit codes: 0 after SIGTERM/SIGINT with a clean drain; 1 when tritonserver fails, exits or never becomes ready;
otherwise Gunicorn's own code (3: a worker failed to boot, e.g. init() raised).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from scoring import drain, http_limits, settings, triton_options
from scoring.logs import json_line, relay_as_json
from scoring.model_mount import repository_problem
from scoring.readiness import TritonReadiness
from scoring.settings import Settings, SettingsError
from scoring.triton_options import TritonOptions

TRITON_FAILED = 1
CHILD_STOP_GRACE_S = 3.0
TRITON_STOP_GRACE_S = 15.0


def say(text: str) -> None:
    try:
        json_format = settings.value("LOG_FORMAT") == "json"
    except SettingsError:  # reported once, as a bad setting, by main()
        json_format = False
    line = json_line("supervisor", text) if json_format else f"supervisor: {text}"
    print(line, file=sys.stderr, flush=True)


def localhost_args(options: TritonOptions) -> tuple[str, ...]:
    """Keep Triton's ports off the container's interfaces as far as its release allows: bind to loopback where it
    has the address options (2022+), otherwise turn gRPC off (the scoring app speaks HTTP to Triton)."""
    arguments = []
    for listener in ("http", "grpc", "metrics"):
        if options.has(f"{listener}-address"):
            arguments.append(f"--{listener}-address=127.0.0.1")
        elif listener == "grpc":
            arguments.append("--allow-grpc=false")
    return tuple(arguments)


def exposure_note(settings: Settings, options: TritonOptions) -> str | None:
    """One line for the log when Triton listens beyond loopback (an old release, or TRITON_LOCALHOST_ONLY=0)."""
    if settings.triton_localhost_only and options.has("http-address"):
        return None
    reason = "TRITON_LOCALHOST_ONLY=0" if not settings.triton_localhost_only else f"Triton {options.release} cannot"
    return (
        f"{reason} bind to loopback: Triton's HTTP port {settings.triton_http_port} and metrics port"
        f" {settings.triton_metrics_port} listen on every interface of the container"
        f"{'; gRPC is off' if settings.triton_localhost_only else ''}. Publish only the scoring port"
        f" {settings.server_port} (the generated NetworkPolicy admits only it)."
    )


def triton_command(settings: Settings, options: TritonOptions | None = None) -> list[str]:
    """tritonserver's command, built from the option table of the release the base carries; an option that release
    lacks (from TRITON_ARGS too) is refused here, since Triton would print its usage and exit."""
    options = options or triton_options.load(settings.triton_release)
    arguments = [
        f"--model-repository={settings.triton_model_repository.resolve()}",
        *options.auto_complete_args(),
        f"--http-port={settings.triton_http_port}",
        f"--metrics-port={settings.triton_metrics_port}",
        *(localhost_args(options) if settings.triton_localhost_only else ()),
        *settings.triton_args,
    ]
    unknown = options.unknown(arguments)
    if unknown:
        raise SettingsError(
            f"Triton {options.release} has no option {', '.join(unknown)}; fix TRITON_ARGS (its options:"
            f" scoring/triton_options/v{options.release}.json)"
        )
    return [os.environ.get("TRITONSERVER", "tritonserver"), *arguments]


def gunicorn_command() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", "python:scoring.gunicorn_conf", "scoring.app:create_app()"]


LOADING_ANSWERS = {
    "/": (200, "text/plain; charset=utf-8", b"Healthy"),
    "/ready": (503, "application/json", b'{"message":"Triton is loading models"}'),
}
# While models load: how long a connection may take to send its request, and how many may wait at once.
LOADING_READ_TIMEOUT_S = 2.0
MAX_LOADING_CONNECTIONS = 512
STARTING = (503, "application/json", b'{"message":"the scoring app is starting: models are still loading"}')


def open_listener(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener


def open_unix_listener(path: str) -> socket.socket:
    """The same answers on a unix socket (SCORING_UNIX_SOCKET), for a host outside a network_mode=none container."""
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o666)  # the host side may run as another user than the container's
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener


def loading_answer(head: bytes) -> bytes:
    """The whole answer to a request while models load: liveness 200, everything else 503."""
    parts = head.split(b" ", 2)
    path = parts[1].split(b"?")[0].decode("latin-1") if len(parts) > 1 else "/"
    status, content_type, body = LOADING_ANSWERS.get(path, STARTING) if parts[0] == b"GET" else STARTING
    return http_limits.answer(status, content_type, body, extra="Retry-After: 5\r\n")


class LoadingAnswers:
    """Answers probes while models load, every connection at once, so silent clients cannot starve the probes: each
    connection is answered as soon as its request arrives, or closed after LOADING_READ_TIMEOUT_S."""

    def __init__(self, listeners: list[socket.socket]) -> None:
        self.listeners = listeners
        self.selector = selectors.DefaultSelector()
        for listener in listeners:
            self.selector.register(listener, selectors.EVENT_READ)
        self.deadlines: dict[socket.socket, float] = {}

    def serve(self, wait_s: float) -> None:
        for key, _ in self.selector.select(wait_s):
            connection = key.fileobj
            if connection in self.listeners:
                self.accept(connection)  # type: ignore[arg-type]
            else:
                self.answer(connection)  # type: ignore[arg-type]
        now = time.monotonic()
        for connection in [c for c, deadline in self.deadlines.items() if deadline < now]:
            self.drop(connection)

    def accept(self, listener: socket.socket) -> None:
        try:
            connection, _ = listener.accept()
        except OSError:  # gone before we got to it, or out of descriptors: the next round retries
            return
        if len(self.deadlines) >= MAX_LOADING_CONNECTIONS:
            self.drop(next(iter(self.deadlines)))  # the oldest: a probe is more likely the newest
        connection.setblocking(False)
        self.selector.register(connection, selectors.EVENT_READ)
        self.deadlines[connection] = time.monotonic() + LOADING_READ_TIMEOUT_S

    def answer(self, connection: socket.socket) -> None:
        try:
            head = connection.recv(65536)
            if head:
                connection.send(loading_answer(head))  # small: fits the empty send buffer of a new socket
        except OSError:
            pass
        self.drop(connection)

    def drop(self, connection: socket.socket) -> None:
        self.selector.unregister(connection)
        del self.deadlines[connection]
        connection.close()

    def close(self) -> None:
        """Before the handover: close what is still pending; the listener stays open for Gunicorn."""
        for connection in list(self.deadlines):
            self.drop(connection)
        self.selector.close()


def group_members(group: int) -> list[list[str]]:
    """The command lines of a process group's live members (zombies awaiting their reaper do not count)."""
    members = []
    for proc in Path("/proc").iterdir():
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()  # after the name: state, ppid, pgrp
            if int(fields[2]) == group and fields[0] != "Z":
                members.append((proc / "cmdline").read_bytes().decode(errors="replace").split("\0"))
        except (OSError, IndexError, ValueError):
            continue  # not a process, or gone meanwhile
    return members


def triton_ready(port: int) -> bool:
    return TritonReadiness(f"127.0.0.1:{port}", timeout_s=1.0).check()[0]


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.triton: subprocess.Popen | None = None
        self.gunicorn: subprocess.Popen | None = None
        self.exit_codes: dict = {}
        self.stopping = False
        self.listener: socket.socket | None = None
        self.unix_listener: socket.socket | None = None
        self.loading: LoadingAnswers | None = None
        self.drain_flag = drain.new_flag_path()
        # When Gunicorn gets its SIGTERM: DRAIN_DELAY after ours, while /ready already answers 503.
        self.forward_at: float | None = None
        self.relays: list[threading.Thread] = []

    # Signals: forward to the front child first so in-flight requests drain before Triton goes away.
    def on_signal(self, number: int, _frame: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        say(f"received {signal.Signals(number).name}; draining")
        drain.raise_flag(self.drain_flag)
        if self.gunicorn is not None and self.settings.drain_delay_s > 0:
            self.forward_at = time.monotonic() + self.settings.drain_delay_s
            return
        target = self.gunicorn if self.gunicorn is not None else self.triton
        if target is not None and self.alive(target):
            os.kill(target.pid, signal.SIGTERM)

    def forward_when_due(self) -> None:
        assert self.gunicorn is not None
        if self.forward_at is not None and time.monotonic() >= self.forward_at:
            self.forward_at = None
            say(f"DRAIN_DELAY={self.settings.drain_delay_s} s passed; stopping gunicorn")
            if self.alive(self.gunicorn):
                os.kill(self.gunicorn.pid, signal.SIGTERM)

    # Children are reaped here with waitpid(-1) (never Popen.poll), so signals go through os.kill.
    def alive(self, child: subprocess.Popen) -> bool:
        self.reap()
        return child.pid not in self.exit_codes

    def reap(self) -> None:
        """Collect every exited child (as PID 1 this also reaps orphans) without blocking."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.exit_codes[pid] = os.waitstatus_to_exitcode(status)

    def wait_exit(self, child: subprocess.Popen, timeout_s: float | None) -> int | None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self.alive(child):
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
        return self.exit_codes[child.pid]

    def stop(self, child: subprocess.Popen | None, name: str, grace_s: float) -> None:
        """Stop `child` (SIGTERM, SIGKILL after grace_s), then whatever it started and left behind."""
        if child is None:
            return
        if self.alive(child):
            say(f"stopping {name} (pid {child.pid})")
            os.kill(child.pid, signal.SIGTERM)
            if self.wait_exit(child, grace_s) is None:
                say(f"{name} did not stop within {grace_s:.0f} s; killing it")
                os.kill(child.pid, signal.SIGKILL)
                self.wait_exit(child, None)
        self.stop_leftovers(child, name)

    def stop_leftovers(self, child: subprocess.Popen, name: str) -> None:
        """After `child` exited: kill the rest of its process group (each child leads its own, see start()), e.g.
        Triton's python backend stubs, which can outlive a Triton that died (reparented, ignoring SIGTERM, holding
        their shared memory): with Triton gone they have nothing left to finish."""
        members = group_members(child.pid)
        if not members:
            return
        say(f"{name} left {len(members)} process(es) behind; killing its process group {child.pid}")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + CHILD_STOP_GRACE_S
        while group_members(child.pid) and time.monotonic() < deadline:
            self.reap()  # as PID 1 the orphans are ours to reap
            time.sleep(0.05)

    def start(self, name: str, command: list[str], env: dict, pass_fds: tuple = ()) -> subprocess.Popen:
        # Own session and process group (pgid = the child's pid): a terminal's Ctrl-C reaches the supervisor only,
        # which then stops children in order; and what a child starts stays in its group, so stop() can end it.
        # LOG_FORMAT=json: the children's output comes through here, so every line of the container log is JSON.
        piped = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT} if self.settings.log_format == "json" else {}
        child = subprocess.Popen(command, env=env, start_new_session=True, pass_fds=pass_fds, **piped)
        if child.stdout is not None:
            relay = threading.Thread(target=relay_as_json, args=(child.stdout, name, child.pid), daemon=True)
            relay.start()
            self.relays.append(relay)
        say(f"started {name} (pid {child.pid}): {' '.join(command)}")
        return child

    def wait_for_triton(self) -> bool:
        assert self.triton is not None
        started = time.monotonic()
        while not self.stopping:
            if not self.alive(self.triton):
                say(f"tritonserver exited with {self.exit_codes[self.triton.pid]} before it was ready")
                return False
            if triton_ready(self.settings.triton_http_port):
                say(f"tritonserver ready after {time.monotonic() - started:.1f} s")
                return True
            if time.monotonic() - started > self.settings.triton_ready_timeout_s:
                say(f"tritonserver not ready after TRITON_READY_TIMEOUT={self.settings.triton_ready_timeout_s} s")
                return False
            if self.loading is not None:
                self.loading.serve(0.2)
            else:
                time.sleep(0.2)
        return False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        try:
            command = triton_command(self.settings)
        except (SettingsError, triton_options.UnknownTritonRelease) as error:
            say(f"bad setting: {error}")
            return 2
        problem = repository_problem(self.settings.model_dir, self.settings.triton_model_repository)
        if problem:
            say(problem)
            return 2
        note = exposure_note(self.settings, triton_options.load(self.settings.triton_release))
        if note:
            say(note)
        try:
            self.listener = open_listener(self.settings.server_host, self.settings.server_port)
        except OSError as error:
            say(f"cannot listen on {self.settings.server_host}:{self.settings.server_port}: {error}")
            return 2
        if self.settings.unix_socket:
            try:
                self.unix_listener = open_unix_listener(self.settings.unix_socket)
            except OSError as error:
                say(f"cannot listen on SCORING_UNIX_SOCKET={self.settings.unix_socket}: {error}")
                return 2
        self.loading = LoadingAnswers([item for item in (self.listener, self.unix_listener) if item])
        env = dict(
            os.environ,
            TRITON_MODEL_REPOSITORY=str(self.settings.triton_model_repository.resolve()),
            TRITON_URL=self.settings.triton_url,
        )
        env[drain.ENV] = self.drain_flag
        self.triton = self.start("tritonserver", command, env)
        ready = self.wait_for_triton()
        self.loading.close()
        self.loading = None
        if not ready:
            self.stop(self.triton, "tritonserver", TRITON_STOP_GRACE_S)
            return 0 if self.stopping else TRITON_FAILED
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="scoring-metrics-"))
        listener_fd = self.listener.fileno()
        env["SCORING_LISTEN_FD"] = str(listener_fd)
        fds = (listener_fd,)
        if self.unix_listener is not None:
            env["SCORING_UNIX_LISTEN_FD"] = str(self.unix_listener.fileno())
            fds += (self.unix_listener.fileno(),)
        self.gunicorn = self.start("gunicorn", gunicorn_command(), env, pass_fds=fds)
        for listener in (self.listener, self.unix_listener):
            if listener is not None:
                listener.close()  # Gunicorn holds the sockets now
        self.listener = self.unix_listener = None
        return self.watch()

    def watch(self) -> int:
        assert self.triton is not None and self.gunicorn is not None
        while True:
            time.sleep(0.05)
            self.forward_when_due()
            if not self.alive(self.triton):
                code = self.exit_codes[self.triton.pid]
                say(f"tritonserver exited with {code}; stopping gunicorn")
                self.stop(self.gunicorn, "gunicorn", CHILD_STOP_GRACE_S)
                self.stop(self.triton, "tritonserver", TRITON_STOP_GRACE_S)  # what Triton left: its stubs
                return TRITON_FAILED if not self.stopping or code != 0 else 0
            if not self.alive(self.gunicorn):
                code = self.exit_codes[self.gunicorn.pid]
                say(f"gunicorn exited with {code}; stopping tritonserver")
                self.stop(self.triton, "tritonserver", TRITON_STOP_GRACE_S)
                if self.stopping:
                    return code
                return code if code != 0 else 1


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        say(f"bad setting: {error}")
        return 2
    supervisor = Supervisor(settings)
    code = supervisor.run()
    for relay in supervisor.relays:  # the children's last lines
        relay.join(timeout=2.0)
    say(f"exiting with {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
