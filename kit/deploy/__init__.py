"""Stage 6, manifests that run a tested image on a cluster."""
