"""The embedded cpu Triton base: root file system and the base image built from the nvidia-pytriton wheel."""
