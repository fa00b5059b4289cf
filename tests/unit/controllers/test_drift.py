"""Drift detection: server defaults are not drift, hand edits of our fields are."""

from __future__ import annotations

import copy
from typing import Any

from syncline.api.project import IntegrationProjectSpec
from syncline.controllers.drift import drifted, is_subset
from syncline.scheduling.cronjob import EngineSettings, ProjectIdentity, build_cronjob
from syncline.scheduling.schedule import EffectiveSchedule


def _manifest() -> dict[str, Any]:
    spec = IntegrationProjectSpec.model_validate(
        {
            "connectionSetRef": {"name": "pair"},
            "tasks": [
                {
                    "name": "t",
                    "source": {"connection": "a", "entity": "x"},
                    "destination": {"connection": "b", "entity": "y"},
                }
            ],
        }
    )
    return build_cronjob(
        ProjectIdentity("p", "ns", "uid"),
        spec,
        EffectiveSchedule("*/5 * * * *", "UTC"),
        [],
        EngineSettings(image="img", service_account="sa"),
    )


def _live(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the API server returns: our fields plus defaults and bookkeeping."""
    live = copy.deepcopy(manifest)
    live["metadata"]["resourceVersion"] = "42"
    pod = live["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod["dnsPolicy"] = "ClusterFirst"
    pod["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    return live


def test_server_defaults_are_not_drift() -> None:
    manifest = _manifest()
    assert not drifted(manifest, _live(manifest))


def test_changed_schedule_is_drift() -> None:
    manifest = _manifest()
    live = _live(manifest)
    live["spec"]["schedule"] = "0 0 * * *"
    assert drifted(manifest, live)


def test_unsuspending_by_hand_is_drift() -> None:
    manifest = _manifest()
    live = _live(manifest)
    live["spec"]["concurrencyPolicy"] = "Allow"
    assert drifted(manifest, live)


def test_an_added_env_var_is_drift() -> None:
    manifest = _manifest()
    live = _live(manifest)
    env = live["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    env.append({"name": "EXTRA", "value": "1"})
    assert drifted(manifest, live)


def test_removed_owner_reference_is_drift() -> None:
    manifest = _manifest()
    live = _live(manifest)
    live["metadata"]["ownerReferences"] = []
    assert drifted(manifest, live)


def test_subset_semantics() -> None:
    assert is_subset({"a": 1}, {"a": 1, "b": 2})
    assert not is_subset({"a": 1}, {"a": 2})
    assert not is_subset([1, 2], [1, 2, 3])
    assert is_subset([{"a": 1}], [{"a": 1, "z": 0}])
