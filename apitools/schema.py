"""The OpenAPI schema's project-wide parts.

* `AutoSchema` (`REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`): drf-spectacular's, named here so
  that this module is loaded before any operation is generated.
* `build_mock_request` (`GET_MOCK_REQUEST`): the schema is generated as an admin sees the API.
* `BearerJWTScheme`: documents `accounts.authentication.JWTAuthentication` as HTTP bearer auth.
  Defined here so that it is registered whenever the schema is generated (this module is loaded
  with the schema class), without the domain apps knowing about drf-spectacular extensions.
* `add_problem_responses` (post-processing hook): the problem+json error responses on every
  operation and the headers every response carries (`X-Request-ID`; `Cache-Control: no-store`
  under `/api/v1/`), so the schema agrees with what the API answers and Schemathesis checks it.
"""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as _SpectacularAutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.plumbing import build_mock_request as _spectacular_build_mock_request


class BearerJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.JWTAuthentication"
    name = "jwtAuth"
    match_subclasses = True
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="AUTHORIZATION",
            token_prefix="Bearer",  # noqa: S106 - the scheme's name, not a secret
            bearer_format="JWT",
        )


class AutoSchema(_SpectacularAutoSchema):
    """drf-spectacular's AutoSchema. Naming it in `DEFAULT_SCHEMA_CLASS` loads this module before
    any operation is generated, which registers `BearerJWTScheme`."""


def build_mock_request(
    method: str, path: str, view: Any, original_request: Any, **kwargs: Any
) -> Any:
    """`SPECTACULAR_SETTINGS["GET_MOCK_REQUEST"]`: generate the schema as an (unsaved, in-memory)
    admin sees the API — the whole of it. The served schema is public (no authentication), and
    views scope their querysets by the user's stores; with an anonymous user they could not even
    name their model, and the schema would lose its path parameter types."""
    from django.contrib.auth import get_user_model

    from apitools.permissions import ADMIN

    request = _spectacular_build_mock_request(method, path, view, None, **kwargs)
    request.user = get_user_model()(username="schema-generator", role=ADMIN, is_active=True)
    return request


# Headers the API promises on responses (API.md, Conventions); Schemathesis checks them.
_REQUEST_ID_HEADER = {
    "description": "The request id: the client's own when it sent a sane one, else generated.",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 128},
}
_NO_STORE_HEADER = {
    "description": "API responses are never stored by any cache.",
    "required": True,
    "schema": {"type": "string", "enum": ["no-store"]},
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "additionalProperties": True,
}

_COMMON = {
    "400": "Validation error (`validation_error`).",
    "401": "Not authenticated (`not_authenticated`, `token_not_valid`).",
    "403": "Permission denied (`permission_denied`).",
    "404": "Not found, also for objects of another store (`not_found`).",
    "413": "Body over the configured limit (`payload_too_large`).",
    "415": "Body is not JSON (`unsupported_media_type`).",
    "429": "Rate limited (`throttled`); see `Retry-After`.",
    "500": "Server error (`server_error`), with `request_id` only.",
}
# Every operation that takes an `Idempotency-Key` shares the mechanism and its two conflicts.
_IDEMPOTENCY = {
    "409": "The first request with this Idempotency-Key is still running "
    "(`idempotency_key_in_use`), or a state conflict of the operation.",
    "422": "This Idempotency-Key was used with a different body (`idempotency_key_reused`).",
}
# gunicorn refuses a request line over `limit_request_line` (8190 bytes) itself, before Django
# sees the request: its own small HTML page, without the API's headers.
_URI_TOO_LONG: dict[str, Any] = {
    "description": "URI too long (request line over 8190 bytes), answered by the HTTP server "
    "before the application: `text/html`, without the API's headers.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
_WRITE_ONLY = {"413", "415"}
_PUBLIC_PATHS = ("/api/v1/auth/token/", "/api/v1/auth/token/refresh/")


def add_problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for parameter in operation.get("parameters", []):
                # Filters and pagination treat `?store=` like no `store` at all (django-filter's
                # and HTML forms' convention): an empty optional query parameter is allowed.
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            responses = operation.setdefault("responses", {})
            for status_code, description in _COMMON.items():
                if status_code in _WRITE_ONLY and method in {"get", "delete"}:
                    continue
                if status_code == "403" and path in _PUBLIC_PATHS:
                    continue
                if status_code == "404" and "{" not in path and method != "get":
                    continue
                if status_code in responses:
                    continue  # the view documented it; made problem+json below
                responses[status_code] = {
                    "description": description,
                    "content": {"application/problem+json": {"schema": ref}},
                }
            if any(
                p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key"
                for p in operation.get("parameters", [])
            ):
                for status_code, description in _IDEMPOTENCY.items():
                    responses.setdefault(
                        status_code,
                        {
                            "description": description,
                            "content": {"application/problem+json": {"schema": ref}},
                        },
                    )
            responses.setdefault("414", copy.deepcopy(_URI_TOO_LONG))
            for status_code, response in responses.items():
                if not isinstance(response, dict) or "$ref" in response or status_code == "414":
                    continue
                if str(status_code).startswith(("4", "5")):
                    # Every error is problem+json, also those an app declared without a body
                    # (`OpenApiResponse(description=…)`) or as plain JSON.
                    content = response.get("content") or {}
                    response["content"] = {
                        "application/problem+json": content.get("application/problem+json")
                        or content.get("application/json")
                        or {"schema": ref},
                        **{
                            k: v
                            for k, v in content.items()
                            if k not in {"application/json", "application/problem+json"}
                        },
                    }
                headers = response.setdefault("headers", {})
                headers.setdefault("X-Request-ID", _REQUEST_ID_HEADER)
                if path.startswith("/api/v1/"):
                    headers.setdefault("Cache-Control", _NO_STORE_HEADER)
    return result


def decimal_inputs_accept_numbers(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """Post-processing hook: a decimal field of a request body (money, a rate, a quantity) takes
    a JSON string or a JSON number, which it reads exactly (`"5.40"` or `5.4`; the answers always
    write strings). drf-spectacular documents only the string: say both, so that the schema
    agrees with what the API accepts (Schemathesis checks that a body the schema calls invalid
    is refused)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _widen_decimals(component)
    return result


def _widen_decimals(schema: Any) -> None:
    if isinstance(schema, list):
        for item in schema:
            _widen_decimals(item)
        return
    if not isinstance(schema, dict):
        return
    for key, value in list(schema.items()):
        if key == "properties" and isinstance(value, dict):
            for field, spec in list(value.items()):
                if isinstance(spec, dict) and spec.get("format") == "decimal":
                    outer = {
                        k: spec[k]
                        for k in ("description", "readOnly", "writeOnly", "nullable")
                        if k in spec
                    }
                    inner = {k: v for k, v in spec.items() if k not in outer}
                    value[field] = {**outer, "oneOf": [inner, {"type": "number"}]}
                else:
                    _widen_decimals(spec)
        else:
            _widen_decimals(value)
