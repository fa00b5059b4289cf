"""The Syncline API (group syncline.dev, version v1alpha1): the one definition of every kind.

``KINDS`` lists the resource models in the order CRDs are generated and documented.
"""

from __future__ import annotations

from syncline.api.base import API_VERSION, GROUP, VERSION, Resource
from syncline.api.connection import Connection
from syncline.api.connectionset import ConnectionSet
from syncline.api.project import IntegrationProject
from syncline.api.run import IntegrationRun
from syncline.api.template import ClusterIntegrationTemplate, IntegrationTemplate

KINDS: tuple[type[Resource], ...] = (
    Connection,
    ConnectionSet,
    IntegrationTemplate,
    ClusterIntegrationTemplate,
    IntegrationProject,
    IntegrationRun,
)
BY_KIND: dict[str, type[Resource]] = {k.KIND: k for k in KINDS}

__all__ = [
    "API_VERSION",
    "BY_KIND",
    "GROUP",
    "KINDS",
    "VERSION",
    "ClusterIntegrationTemplate",
    "Connection",
    "ConnectionSet",
    "IntegrationProject",
    "IntegrationRun",
    "IntegrationTemplate",
    "Resource",
]
