"""Stage 1, what to build: image.yaml (image.py), the model repository checks and the base profiles."""
