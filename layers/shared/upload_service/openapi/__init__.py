"""The OpenAPI 3.1 document of the HTTP API, built from each feature's wire models (never its logic).
Not loaded by the functions: the local stack serves it and the tests validate answers against it."""
