"""Build a rendered context with the Docker SDK (classic builder), streaming `step n/m` progress and cache hits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import APIError

from kit.docker.containers import OWNER_LABEL
from kit.errors import BuildFailed
from kit.progress import Stopwatch, console

STEP_LINE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


@dataclass
class BuildStep:
    number: int
    total: int
    instruction: str
    cached: bool = False


@dataclass
class BuildResult:
    image_id: str
    seconds: float
    steps: list[BuildStep] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def cached_steps(self) -> list[int]:
        return [step.number for step in self.steps if step.cached]


class BuildError(BuildFailed):
    def __init__(self, label: str, message: str, log: list[str]) -> None:
        tail = "\n".join(log[-25:])
        super().__init__(f"{label}: docker build failed: {message}\nlast build output:\n{tail}")
        self.log = log


def build_image(
    docker_client: docker.DockerClient,
    context_dir: Path,
    tags: list[str],
    label: str,
    build_args: dict[str, str] | None = None,
) -> BuildResult:
    """Build `context_dir` on host networking and tag it with every name in `tags`."""
    watch = Stopwatch()
    result = BuildResult(image_id="", seconds=0.0)
    current: BuildStep | None = None
    events = docker_client.api.build(
        path=str(context_dir),
        tag=tags[0],
        rm=True,
        forcerm=True,
        decode=True,
        network_mode="host",
        buildargs=build_args or {},
        labels={OWNER_LABEL: "triton-kit"},  # what `make clean` looks for
    )
    try:
        for event in events:
            if "error" in event:
                raise BuildError(label, str(event["error"]).strip(), result.log)
            if "aux" in event and "ID" in event["aux"]:
                result.image_id = event["aux"]["ID"]
            for line in str(event.get("stream", "")).splitlines():
                result.log.append(line)
                step_match = STEP_LINE.match(line)
                if step_match:
                    number, total, instruction = step_match.groups()
                    current = BuildStep(int(number), int(total), instruction)
                    result.steps.append(current)
                    console.print(f"{watch.stamp()} {label} step {number}/{total}: {instruction[:100]}")
                elif current is not None and line.strip() == "---> Using cache":
                    current.cached = True
    except APIError as error:
        raise BuildError(label, str(error.explanation or error), result.log) from error
    if not result.image_id:
        raise BuildError(label, "the engine reported no image id", result.log)
    image = docker_client.images.get(result.image_id)
    for tag in tags[1:]:
        repository, _, version = tag.rpartition(":")
        image.tag(repository, version)
    result.seconds = watch.seconds
    cached = len(result.cached_steps())
    console.print(f"{watch.stamp()} {label} built {tags[0]} ({cached}/{len(result.steps)} steps from cache)")
    return result
