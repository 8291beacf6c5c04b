"""Running a tested image locally (`make run`): the container and the loopback relay in front of it."""
