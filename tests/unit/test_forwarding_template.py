"""The forwarding half of template.yaml: deployed only with VideoPlatform=apivideo, least privilege,
capped concurrency, and its state in the API's document."""

from __future__ import annotations

from local_stack.functions import function_specs
from tests.unit.test_template import TEMPLATE, resolver
from upload_service.openapi.document import build_document

RESOURCES = TEMPLATE["Resources"]
FORWARDING = [
    "ForwardQueue",
    "ForwardDeadLetterQueue",
    "ForwardQueuePolicy",
    "UploadAcceptedRule",
    "ForwardUploadFunction",
]


def test_nothing_of_it_is_deployed_by_default() -> None:
    assert all(RESOURCES[name].get("Condition") == "ForwardToApiVideo" for name in FORWARDING)
    assert not resolver().condition("ForwardToApiVideo")
    assert "ForwardUploadFunction" not in function_specs(TEMPLATE, resolver())
    forwarding = resolver(VideoPlatform="apivideo", ApiVideoApiKeySecret="k")
    assert "ForwardUploadFunction" in function_specs(TEMPLATE, forwarding)


def test_forwarding_needs_the_secret_that_holds_the_key() -> None:
    rule = TEMPLATE["Rules"]["ApiVideoNeedsItsKey"]
    without = resolver(VideoPlatform="apivideo")
    assert without.resolve(rule["RuleCondition"])
    assert not without.resolve(rule["Assertions"][0]["Assert"])
    assert resolver(VideoPlatform="apivideo", ApiVideoApiKeySecret="k").resolve(
        rule["Assertions"][0]["Assert"]
    )


def test_the_forwarder_reads_media_and_one_secret_and_writes_only_upload_records() -> None:
    r = resolver(VideoPlatform="apivideo", ApiVideoApiKeySecret="upload-tokens/api-video")
    statements = r.resolve(RESOURCES["ForwardUploadFunction"]["Properties"]["Policies"])[0]["Statement"]
    grants = {action: statement["Resource"] for statement in statements for action in statement["Action"]}
    assert set(grants) == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",  # a missing key is a 404, not a 403 (tests/unit/test_iam_guard.py)
        "secretsmanager:GetSecretValue",
        "sqs:ChangeMessageVisibility",
        "events:PutEvents",
    }
    assert grants["s3:GetObject"] == "att:UploadsBucket.Arn/media/*"
    assert grants["s3:ListBucket"] == "att:UploadsBucket.Arn"
    assert grants["secretsmanager:GetSecretValue"].endswith(":secret:upload-tokens/api-video-??????")
    variables = r.resolve(RESOURCES["ForwardUploadFunction"]["Properties"]["Environment"]["Variables"])
    assert (
        variables["API_VIDEO_API_KEY_SECRET"] == "upload-tokens/api-video"
    )  # a name: the key is read at run time
    assert set(variables) == {
        "API_VIDEO_BASE_URL",
        "API_VIDEO_API_KEY_SECRET",
        "FORWARD_CHUNK_BYTES",
        "FORWARD_QUEUE_URL",
    }


def test_one_file_an_invocation_at_a_capped_concurrency() -> None:
    event = RESOURCES["ForwardUploadFunction"]["Properties"]["Events"]["UploadAccepted"]["Properties"]
    assert event["BatchSize"] == 1
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "ForwardConcurrency"}
    pattern = RESOURCES["UploadAcceptedRule"]["Properties"]["EventPattern"]
    assert pattern == {"source": ["upload-tokens"], "detail-type": ["Upload Accepted"]}
    queue = RESOURCES["ForwardQueue"]["Properties"]
    timeout = RESOURCES["ForwardUploadFunction"]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ForwardDeadLetterQueue", "Arn"]}


def test_the_api_document_shows_each_uploads_forwarding() -> None:
    schemas = build_document()["components"]["schemas"]
    forwarding = schemas["ForwardingInfo"]["properties"]
    assert set(forwarding) == {"status", "videoId", "bytesSent", "attempts", "error"}
    assert set(schemas["ForwardingStatus"]["enum"]) == {"PENDING", "IN_PROGRESS", "FORWARDED", "FAILED"}
    assert "forwarding" in schemas["UploadInfo"]["properties"]
    assert "detectedType" in schemas["UploadInfo"]["properties"]
