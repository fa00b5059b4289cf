"""The execution history: IntegrationRuns, their aggregation into projects, and retention.

Pure functions over the API models; the operator and the CLI do the API calls.
"""
