"""Swagger UI served from the application itself: clusters are often offline, so the
page must not load anything from a CDN. The assets come from the swagger-ui-bundle-v2
package (installed with Syncline), never from the repository."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

DOCS = "/api/v1/docs"
OPENAPI = "/api/v1/openapi.json"
ASSETS = f"{DOCS}/assets"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: {openapi},
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
</script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-assets")
    page = _PAGE.format(title=app.title, assets=ASSETS, openapi=json.dumps(OPENAPI))

    @app.get(DOCS, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page)
