"""The triton-kit command (`triton-kit`, `python -m kit`, the checkout's build.py): parse, call the kit, report."""
