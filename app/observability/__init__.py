"""Metrics, structured logs and traces of the service.

Import-light on purpose: :mod:`app.observability.multiprocess` must be usable
before prometheus-client is imported (gunicorn's config does so), so nothing
is imported here.
"""
