"""Stage 3, the Docker engine: bootstrap, client, image builds and containers on loopback."""
