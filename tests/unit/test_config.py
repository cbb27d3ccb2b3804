"""Deployment settings as the functions read them from the environment."""

from __future__ import annotations

from upload_service.core.config import Settings


def test_a_deployment_that_raises_only_the_allowance_still_starts_uploads() -> None:
    """UploadAttemptsPerToken below UploadsPerToken counts as UploadsPerToken: raising the allowance
    alone must not fail every function at init, nor refuse uploads the allowance promises."""
    settings = Settings.model_validate({"TABLE_NAME": "t", "UPLOADS_PER_TOKEN": "100"})
    assert settings.upload_attempts_per_token == 50
    assert settings.upload_attempts == 100
    assert (
        Settings.model_validate({"TABLE_NAME": "t", "UPLOAD_ATTEMPTS_PER_TOKEN": "70"}).upload_attempts == 70
    )
