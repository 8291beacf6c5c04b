"""Reproducible example models (fixed seeds, built offline from what PyPI packages ship): `make models`."""
