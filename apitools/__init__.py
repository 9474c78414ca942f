"""The HTTP API toolkit every app's views share: problem+json errors and the status of each kind
of domain error (`errors`), `Idempotency-Key` (`idempotency`), permissions by role, pagination,
parsers, the OpenAPI hooks (`schema`) and the hand renderers' field helpers (`rendering`).
Imports no domain app."""
