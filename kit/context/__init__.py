"""Stage 2, the build context: Dockerfile templates, wheelhouse and the rendered build/<image>/ folder."""
