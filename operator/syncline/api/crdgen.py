"""Generate ``crds/*.yaml`` from the API models: the models are the one definition.

Pydantic emits JSON Schema 2020-12; the API server wants a *structural* OpenAPI v3
schema. The differences this module bridges:

- ``$ref``/``$defs`` are inlined (the API server resolves no references);
- ``Optional[X]`` arrives as ``anyOf: [X, {type: null}]`` and becomes plain ``X``
  (absence, not null, is how Kubernetes says "unset");
- titles go, descriptions stay (``kubectl explain`` prints them);
- ``dict[str, str]`` keeps ``additionalProperties``; ``Literal``/enums keep ``enum``;
- ``x-kubernetes-*`` extensions given in ``json_schema_extra`` pass through.

Run ``python -m syncline.api.crdgen`` to write, ``--check`` to fail when stale.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

from syncline.api import GROUP, KINDS, VERSION, Resource
from syncline.api.admission import admission_documents

JsonSchema = dict[str, Any]

_DROP = {"title", "$defs", "discriminator"}
_DEFAULT_CRDS_DIR = Path(__file__).resolve().parents[3] / "crds"


def crd_for(kind: type[Resource]) -> dict[str, Any]:
    """The CustomResourceDefinition manifest of one kind."""
    spec_model = kind.model_fields["spec"].annotation
    status_field = kind.model_fields["status"].annotation
    status_model = _non_null(status_field)
    spec = _structural(spec_model.model_json_schema(by_alias=True))  # type: ignore[union-attr]
    status = _structural(status_model.model_json_schema(by_alias=True))
    status["description"] = f"{status.get('description', '')} Written by Syncline.".strip()
    schema: JsonSchema = {
        "type": "object",
        "description": (kind.__doc__ or kind.KIND).strip().splitlines()[0],
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion of the object."},
            "kind": {"type": "string", "description": "Kind of the object."},
            # The API server allows nothing but `type` here (not even a description).
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
    }
    plural = kind.PLURAL
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/part-of": "syncline"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced" if kind.NAMESPACED else "Cluster",
            "names": {
                "kind": kind.KIND,
                "listKind": f"{kind.KIND}List",
                "plural": plural,
                "singular": kind.KIND.lower(),
                "shortNames": list(kind.SHORT_NAMES),
                "categories": ["syncline"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [dict(c) for c in kind.PRINTER_COLUMNS],
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def _non_null(annotation: Any) -> Any:
    args = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
    return args[0] if args else annotation


def _structural(schema: JsonSchema) -> JsonSchema:
    converted: JsonSchema = _convert(schema, schema.get("$defs", {}))
    return converted


def _convert(node: Any, defs: dict[str, JsonSchema]) -> Any:
    if isinstance(node, list):
        return [_convert(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = copy.deepcopy(defs[node.pop("$ref").rsplit("/", 1)[-1]])
        target.update(node)  # the property's own description and default win
        node = target
    if "anyOf" in node:
        return _convert(_collapse_optional(node), defs)
    out: JsonSchema = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "default" and value is None:
            continue
        if key == "additionalProperties" and value is False:
            continue  # forbidden beside properties; the API server prunes unknown fields
        if key == "description":
            out[key] = " ".join(str(value).split())
        elif key == "properties":
            out[key] = {name: _convert(sub, defs) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _convert(value, defs)
        else:
            out[key] = _convert(value, defs) if key == "allOf" else value
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if out.get("type") == "integer" and "format" not in out:
        out["format"] = "int64"
    return out


def _collapse_optional(node: JsonSchema) -> JsonSchema:
    options = [o for o in node["anyOf"] if o.get("type") != "null"]
    if len(options) != 1:
        raise ValueError(f"only Optional[X] unions are supported in CRDs, got {node['anyOf']}")
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    merged = dict(options[0])
    merged.update(rest)
    return merged


def render(kind: type[Resource]) -> str:
    """The YAML text written to crds/ for one kind."""
    header = "# Generated by `python -m syncline.api.crdgen` from syncline.api; do not edit.\n"
    return header + yaml.safe_dump(crd_for(kind), sort_keys=False, width=100)


def file_name(kind: type[Resource]) -> str:
    return f"{GROUP}_{kind.PLURAL}.yaml"


KUSTOMIZATION = "kustomization.yaml"
ADMISSION = "admission-policy.yaml"


def render_admission() -> str:
    """The Connection admission policy (syncline.api.admission), installed with the CRDs."""
    header = "# Generated by `python -m syncline.api.crdgen` from syncline.api; do not edit.\n"
    return header + yaml.safe_dump_all(admission_documents(), sort_keys=False, width=100)


def render_kustomization() -> str:
    """crds/ as a kustomization, so ``manifests/`` can include it (``kubectl apply -k``)."""
    header = "# Generated by `python -m syncline.api.crdgen`; do not edit.\n"
    body = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [*(file_name(k) for k in KINDS), ADMISSION],
    }
    return header + yaml.safe_dump(body, sort_keys=False)


def _expected() -> dict[str, str]:
    return {
        **{file_name(k): render(k) for k in KINDS},
        ADMISSION: render_admission(),
        KUSTOMIZATION: render_kustomization(),
    }


def write(directory: Path) -> list[Path]:
    """Write every CRD, the admission policy and the kustomization listing them."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in _expected().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def stale_files(directory: Path) -> list[str]:
    """Files in ``directory`` that differ from what the models generate (or are missing)."""
    stale = []
    expected = _expected()
    for name, text in expected.items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            stale.append(name)
    stale += sorted(p.name for p in directory.glob(f"{GROUP}_*.yaml") if p.name not in expected)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="syncline-crdgen", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=_DEFAULT_CRDS_DIR, help="crds directory")
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.out)
        if stale:
            print(f"crds/ is stale: {', '.join(stale)}; run `make crds`", file=sys.stderr)
            return 1
        print(f"crds/ is up to date ({len(KINDS)} CRDs)")
        return 0
    for path in write(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
