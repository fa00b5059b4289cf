"""Operator settings from the environment and flags."""

from __future__ import annotations

from syncline.controllers.settings import OperatorSettings


def test_defaults_watch_everything_with_a_quota_of_50() -> None:
    settings = OperatorSettings.from_env({})
    assert settings.namespaces == ()
    assert settings.scheduled_project_quota == 50
    assert settings.engine.service_account == "syncline-engine"


def test_environment_configures_the_deployment() -> None:
    settings = OperatorSettings.from_env(
        {
            "SYNCLINE_WATCH_NAMESPACES": "team-a, team-b",
            "SYNCLINE_ENGINE_IMAGE": "registry.local/syncline:2",
            "SYNCLINE_ENGINE_SERVICE_ACCOUNT": "runner",
            "SYNCLINE_SCHEDULED_PROJECT_QUOTA": "3",
            "SYNCLINE_LIVENESS_ENDPOINT": "http://0.0.0.0:8080/healthz",
        }
    )
    assert settings.namespaces == ("team-a", "team-b")
    assert settings.engine.image == "registry.local/syncline:2"
    assert settings.engine.service_account == "runner"
    assert settings.scheduled_project_quota == 3
    assert settings.liveness_endpoint == "http://0.0.0.0:8080/healthz"


def test_flags_override_only_what_is_given() -> None:
    base = OperatorSettings.from_env({"SYNCLINE_ENGINE_IMAGE": "from-env"})
    changed = base.with_overrides(scheduled_project_quota=7, engine_image=None)
    assert changed.scheduled_project_quota == 7
    assert changed.engine_image == "from-env"
