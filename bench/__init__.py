"""Tutti's overhead benchmark: what the mesh adds on top of the models; see bench/README.md.

`python -m bench` (the mesh against a gRPC floor and Ray Serve), `python -m bench.engine`
(the engine alone) and `python -m bench.llm` (what Tutti adds to an LLM call).
"""
