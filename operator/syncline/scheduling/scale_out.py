"""The Job of a project whose task is split over several pods: an Indexed Job.

Kubernetes runs the pods and counts their completions; Syncline adds no scheduler. Each
pod gets its completion index (``JOB_COMPLETION_INDEX``, set by the Job controller) and
the number of pods (``SYNCLINE_PARTITIONS``); the engine turns them into a key range
(``syncline.kube.partitions``).

A pod that ends the run's share in Error (exit code 1) fails its index for good: the
data said no, and a retry would say no again. A pod that was killed or lost (its node,
the OOM killer) is retried once: its range starts again from the same split, and a
range an earlier attempt already recorded is not moved twice. Any failed index fails the
Job, and the operator closes the run as for any failed Job.
"""

from __future__ import annotations

from typing import Any

from syncline.api.project import IntegrationProjectSpec

PARTITIONS_ENV = "SYNCLINE_PARTITIONS"
ERROR_EXIT_CODE = 1
RETRIES_PER_POD = 1


def split_pods(spec: IntegrationProjectSpec) -> int | None:
    """How many pods the project's split task runs on; None when nothing is split."""
    pods = [t.scale_out.pods for t in spec.tasks if t.scale_out is not None]
    return max(pods) if pods else None


def indexed_job_fields(pods: int, container: str) -> dict[str, Any]:
    """What makes a run's Job an Indexed Job of ``pods`` pods (replacing backoffLimit and
    the pod failure policy of a one-pod run)."""
    return {
        "completionMode": "Indexed",
        "completions": pods,
        "parallelism": pods,
        "backoffLimitPerIndex": RETRIES_PER_POD,
        "maxFailedIndexes": 0,
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailIndex",
                    "onExitCodes": {
                        "containerName": container,
                        "operator": "In",
                        "values": [ERROR_EXIT_CODE],
                    },
                }
            ]
        },
    }
