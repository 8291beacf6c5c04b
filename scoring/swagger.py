"""The default OpenAPI (Swagger 2.0) document for the scoring routes; a user's swagger.json replaces it."""

from __future__ import annotations

from typing import Any

ERROR = {"type": "object", "properties": {"message": {"type": "string"}}}
EMPTY_SCHEMA = {"type": "object", "example": {}}


def default_document(
    title: str, service_input: Any = EMPTY_SCHEMA, service_output: Any = EMPTY_SCHEMA
) -> dict[str, Any]:
    """ServiceInput and ServiceOutput hold run()'s inference_schema schemas, named as Azure ML names them."""
    errors = {str(code): {"description": text, "schema": ERROR} for code, text in _ERRORS.items()}
    return {
        "swagger": "2.0",
        "info": {"title": title, "description": "Scoring API in front of Triton Inference Server", "version": "1.0"},
        "schemes": ["http"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": {
            "/": {"get": {"description": "Liveness", "responses": {"200": {"description": "Healthy"}}}},
            "/ready": {
                "get": {
                    "description": "Readiness: 200 only while Triton is ready",
                    "responses": {"200": {"description": "Ready"}, "503": {"description": "Not ready"}},
                }
            },
            "/score": {
                "post": {
                    "description": "Run the entry script on the request body",
                    "parameters": [
                        {
                            "name": "body",
                            "in": "body",
                            "required": True,
                            "schema": {"$ref": "#/definitions/ServiceInput"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "Result of run()", "schema": {"$ref": "#/definitions/ServiceOutput"}},
                        **errors,
                    },
                },
                "get": {
                    "description": "Run the entry script on the query parameters, passed as a JSON object",
                    "responses": {"200": {"description": "Result of run()"}, **errors},
                },
            },
        },
        "definitions": {"ServiceInput": service_input, "ServiceOutput": service_output, "ErrorResponse": ERROR},
    }


_ERRORS = {
    400: "Bad input (malformed JSON, wrong shape or dtype)",
    413: "Body over MAX_REQUEST_BYTES",
    415: "An @input_schema run() was sent a body that is not application/json",
    431: "x-request-id, x-ms-request-id or x-ms-client-request-id longer than 100 characters",
    500: "run() failed, returned a value that is not JSON, or exceeded SCORING_TIMEOUT_MS",
    503: "Triton is not ready",
}
