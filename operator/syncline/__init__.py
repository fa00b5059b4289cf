"""Syncline: a Kubernetes-native data integrator.

Integrations are declared as Kubernetes resources (group ``syncline.dev``); a kopf
operator turns them into CronJobs whose pods run the sync engine, which upserts
records by integration key and reports counts back to the resources' status.
"""

__version__ = "0.1.0"
