"""Tutti's overhead benchmark: what the mesh adds on top of the models (`python -m bench`,
`python -m bench.engine`, `python -m bench.llm`); see bench/README.md."""
