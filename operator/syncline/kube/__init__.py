"""Thin access to the Kubernetes API shared by the engine entrypoint, the CLI and the REST API.

The engine package itself never talks to Kubernetes (it also runs locally); this
package reads resources into API models and writes run records.
"""
