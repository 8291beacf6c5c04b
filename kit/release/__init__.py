"""Stage 5, after a passing smoke test: the tested record, push with digest checks, local runs and clean-up."""
