"""Stage 6, manifests that run a tested image on a cluster, and a local multi-replica rehearsal of them."""
