"""Stage 4, the smoke test: a built image answers its samples before anything is tagged or pushed."""
