"""The local stack reads template.yaml as CloudFormation would; the template has what the design asks."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.parameters import ParameterRefused
from local_stack.template import Resolver, load_template

TEMPLATE = load_template()


def resolver(**overrides: str) -> Resolver:
    """template.yaml resolved with these parameters; resources answer `ref:X` and `att:X.Attr`."""
    return Resolver(
        template=TEMPLATE,
        parameters=Resolver.parameter_values(TEMPLATE, overrides),
        pseudo={
            "AWS::Region": "eu-west-1",
            "AWS::StackName": "s",
            "AWS::AccountId": "1",
            "AWS::Partition": "aws",
        },
        ref=lambda name: f"ref:{name}",
        get_att=lambda name, attr: f"att:{name}.{attr}",
    )


def test_intrinsics() -> None:
    r = resolver()
    assert r.resolve({"Fn::Sub": "${AWS::Region}/${TokensTable}/${TokensTable.Arn}"}) == (
        "eu-west-1/ref:TokensTable/att:TokensTable.Arn"
    )
    assert r.resolve({"Fn::Sub": ["x-${A}", {"A": {"Ref": "AWS::StackName"}}]}) == "x-s"
    assert r.resolve({"Fn::If": ["CreateUserPool", {"Ref": "UserPool"}, "no"]}) == "ref:UserPool"
    assert r.resolve({"Ref": "CorsAllowedOrigins"}) == ["http://localhost:5173"]
    assert r.resolve([1, {"Ref": "AWS::NoValue"}]) == [1]


def test_existing_pool_parameters_switch_the_condition() -> None:
    assert resolver().condition("CreateUserPool")
    assert not resolver(ExistingUserPoolId="us-east-1_x", ExistingUserPoolClientId="c").condition(
        "CreateUserPool"
    )


def test_unknown_parameter_overrides_are_refused() -> None:
    with pytest.raises(ValueError, match="Nope"):
        Resolver.parameter_values(TEMPLATE, {"Nope": "1"})


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        (
            {"RecordRetentionDays": "3"},
            "RecordRetentionDays' failed to satisfy constraint: must be 15 or more",
        ),
        (
            {"StrayUploadExpirationDays": "2"},
            "StrayUploadExpirationDays' failed to satisfy constraint: must be 15",
        ),
        ({"MaxUploadBytes": "99999999999999"}, "MaxUploadBytes' must be a number not greater than"),
        ({"CleanupBatchSize": "many"}, "CleanupBatchSize' must be a number"),
        ({"LogLevel": "LOUD"}, "LogLevel' value must be one of DEBUG"),
        ({"AlarmEmail": "not an address"}, "AlarmEmail' failed to satisfy constraint: an email address"),
    ],
)
def test_parameters_cloudformation_refuses_are_refused_locally(
    overrides: dict[str, str], refusal: str
) -> None:
    with pytest.raises(ParameterRefused, match=refusal):
        Resolver.parameter_values(TEMPLATE, overrides)


def test_the_template_rules_are_checked_locally() -> None:
    both = resolver(AlarmEmail="ops@example.com", AlarmTopicArn="arn:aws:sns:eu-west-1:123456789012:ops")
    with pytest.raises(ParameterRefused, match="OneAlarmDestination: Give AlarmEmail or AlarmTopicArn"):
        both.check_rules()
    resolver(AlarmEmail="ops@example.com").check_rules()


def resources(kind: str) -> dict[str, Any]:
    return {name: spec for name, spec in TEMPLATE["Resources"].items() if spec["Type"] == kind}


def test_functions_run_python_313_on_arm64_with_the_layer() -> None:
    function = TEMPLATE["Globals"]["Function"]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Layers"] == [{"Ref": "SharedLayer"}]
    assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]


def test_table_is_on_demand_with_pitr_and_ttl() -> None:
    (table,) = resources("AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "purgeAt", "Enabled": True}


def test_policies_are_least_privilege() -> None:
    """Named actions only, on named resources (never "*"), and nothing may Scan."""
    for name, spec in resources("AWS::Serverless::Function").items():
        for policy in spec["Properties"]["Policies"]:
            assert isinstance(policy, dict) and "Statement" in policy, name
            for statement in policy["Statement"]:
                assert statement["Effect"] == "Allow"
                assert all(":" in action and "*" not in action for action in statement["Action"]), name
                assert "dynamodb:Scan" not in statement["Action"], name
                assert statement["Resource"] != "*", name


def test_bucket_is_private_encrypted_tls_only_and_tidied() -> None:
    (bucket,) = resources("AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"]
    assert rules["expire-stray-uploads"]["Prefix"] == "uploads/"
    assert props["CorsConfiguration"]["CorsRules"][0]["AllowedOrigins"] == {"Ref": "CorsAllowedOrigins"}
    (policy,) = resources("AWS::S3::BucketPolicy").values()
    denied = {
        statement["Sid"]: statement for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    assert denied["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert all(statement["Effect"] == "Deny" for statement in denied.values())


def test_the_bucket_refuses_every_request_not_signed_with_sigv4() -> None:
    """S3 refuses SigV2 on buckets created since June 2020; the policy says so for any bucket, so a
    client (or a presigned target) signed otherwise fails on every deployment alike."""
    (policy,) = resources("AWS::S3::BucketPolicy").values()
    (sigv4,) = [
        statement
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Sid"] == "DenyOtherThanSigV4"
    ]
    assert (sigv4["Effect"], sigv4["Principal"], sigv4["Action"]) == ("Deny", "*", "s3:*")
    assert sigv4["Condition"] == {"StringNotEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256"}}
    assert {"Fn::Sub": "${UploadsBucket.Arn}/*"} in sigv4["Resource"]


def test_processing_queue_has_a_dlq_and_partial_batch_responses() -> None:
    queue = TEMPLATE["Resources"]["UploadsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["UploadsDeadLetterQueue", "Arn"]}
    function = TEMPLATE["Resources"]["ProcessUploadFunction"]["Properties"]
    (event,) = function["Events"].values()
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]


def test_sign_in_tokens_are_short_lived() -> None:
    """Admin rights are read from the token's groups: removing an admin takes effect when it expires."""
    parameter = TEMPLATE["Parameters"]["AuthTokenValidityMinutes"]
    assert parameter["Type"] == "Number"
    assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (15, 5, 1440)
    client = TEMPLATE["Resources"]["UserPoolClient"]["Properties"]
    assert client["IdTokenValidity"] == client["AccessTokenValidity"] == {"Ref": "AuthTokenValidityMinutes"}
    assert client["TokenValidityUnits"] == {"IdToken": "minutes", "AccessToken": "minutes"}
    assert "RefreshTokenValidity" not in client  # Cognito's default; revoke with a global sign-out
    assert resolver().resolve(client["IdTokenValidity"]) == "15"


def test_the_tests_run_on_the_lambda_runtimes_python() -> None:
    """A pass on another Python proves less (the review saw JSON nesting fail at depth 1,000 on 3.11
    and at 20,000 on 3.13): `make test` builds its venv with the runtime's Python."""
    import sys

    runtime = TEMPLATE["Globals"]["Function"]["Runtime"]
    assert runtime == f"python{sys.version_info.major}.{sys.version_info.minor}"


def statements_of(function: str) -> list[dict[str, Any]]:
    (policy,) = TEMPLATE["Resources"][function]["Properties"]["Policies"]
    return list(policy["Statement"])


def test_the_processor_may_list_the_bucket_so_a_missing_object_is_a_404() -> None:
    """Without s3:ListBucket, S3 answers HeadObject of a missing key with 403, not 404, and the
    processor's 'already gone' branch would retry instead of finishing (S3's HeadObject docs)."""
    bucket_wide = [s for s in statements_of("ProcessUploadFunction") if "s3:ListBucket" in s["Action"]]
    assert [s["Resource"] for s in bucket_wide] == [{"Fn::GetAtt": ["UploadsBucket", "Arn"]}]
    assert "Condition" not in bucket_wide[0]  # a prefix condition would not apply to HeadObject


def test_the_bucket_is_versioned_and_old_versions_go() -> None:
    props = TEMPLATE["Resources"]["UploadsBucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-stray-uploads"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert rules["remove-expired-delete-markers"]["ExpiredObjectDeleteMarker"] is True


def test_open_uploads_are_found_by_target_expiry_without_a_scan() -> None:
    indexes = TEMPLATE["Resources"]["TokensTable"]["Properties"]["GlobalSecondaryIndexes"]
    (open_uploads,) = [index for index in indexes if index["IndexName"] == "OpenByTargetExpiry"]
    assert [key["AttributeName"] for key in open_uploads["KeySchema"]] == ["openAll", "openUntil"]


def test_only_admins_create_users() -> None:
    """The emulator lets anyone sign up and confirm with any code; on AWS the pool refuses SignUp."""
    pool = TEMPLATE["Resources"]["UserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_no_lifecycle_rule_deletes_an_accepted_upload_and_windows_agree() -> None:
    """The stray-upload rule expires only objects still tagged `stage=landing` (an accepted one is
    retagged `accepted`); it and the records outlive the dead-letter queues' 14 days, so a redrive
    finds the object and the record it names; the deploy refuses shorter windows."""
    props = TEMPLATE["Resources"]["UploadsBucket"]["Properties"]
    rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
    uploads_rules = [rule for rule in rules.values() if rule.get("Prefix", "uploads/").startswith("uploads/")]
    for rule in uploads_rules:
        deletes = "ExpirationInDays" in rule or "NoncurrentVersionExpiration" in rule
        assert not deletes or rule.get("TagFilters") == [{"Key": "stage", "Value": "landing"}], rule["Id"]
    queues = resources("AWS::SQS::Queue")
    dead_letter_days = max(
        q["Properties"]["MessageRetentionPeriod"] / 86400
        for name, q in queues.items()
        if "DeadLetter" in name or "Dlq" in name or "DLQ" in name
    )
    assert dead_letter_days == 14
    parameters = TEMPLATE["Parameters"]
    for name in ("StrayUploadExpirationDays", "RecordRetentionDays"):
        assert parameters[name]["MinValue"] > dead_letter_days, name
        assert parameters[name]["Default"] >= parameters[name]["MinValue"], name
    assert rules["expire-stray-uploads"]["ExpirationInDays"] == {"Ref": "StrayUploadExpirationDays"}
