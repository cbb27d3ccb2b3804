"""Shared layer of the upload-token service: everything the Lambda handlers have in common."""
