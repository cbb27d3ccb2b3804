"""The HTTP edge of the API functions: the resolver with its rate limits and problem documents, and
the caller from the authorizer's claims."""
