"""Validate objects against the generated CRDs offline, the way the API server does.

The structural schema is checked with a JSON-schema validator, and the CEL
``x-kubernetes-validations`` rules are evaluated with cel-python. This is a fast
stand-in for unit tests; the integration suite submits the same objects to a real
kube-apiserver.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import yaml
from jsonschema import Draft202012Validator

REPO = Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"


@dataclass(frozen=True)
class Violation:
    path: str
    message: str


def schemas() -> dict[str, dict[str, Any]]:
    """openAPIV3Schema per kind, from crds/."""
    out = {}
    for path in sorted(CRDS.glob("syncline.dev_*.yaml")):
        crd = yaml.safe_load(path.read_text())
        kind = crd["spec"]["names"]["kind"]
        out[kind] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return out


def validate(obj: dict[str, Any], schema: dict[str, Any]) -> list[Violation]:
    """Every violation of ``obj`` against ``schema``, with a field path like spec.tasks[0].name."""
    found = [
        Violation(_format(list(err.absolute_path)), err.message)
        for err in Draft202012Validator(schema).iter_errors(obj)
    ]
    if not found:
        _check_rules(schema, obj, [], found)
    return found


def _format(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_ENV = celpy.Environment()


def _check_rules(schema: dict[str, Any], value: Any, path: list[Any], out: list[Violation]) -> None:
    for rule in schema.get("x-kubernetes-validations", []):
        program = _ENV.program(_ENV.compile(rule["rule"]))
        result = program.evaluate({"self": celpy.json_to_cel(value)})
        if not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            field = rule.get("fieldPath", "")
            out.append(Violation(_format(path) + field, rule["message"]))
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                _check_rules(sub, value[name], [*path, name], out)
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check_rules(schema["items"], item, [*path, index], out)
