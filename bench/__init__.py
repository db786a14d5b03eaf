"""Tutti's overhead benchmark (issue 8): `python -m bench`; see bench/README.md."""
