"""What a team running the stack relies on: log groups with retention, token-free access logs, alarms
that notify whom the parameters say, and every security-scan exception argued in the template."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from local_stack.template import TEMPLATE_PATH
from tests.unit.test_template import TEMPLATE, resolver

RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = sorted(name for name, spec in RESOURCES.items() if spec["Type"] == "AWS::Serverless::Function")
ALARMS = {name: spec for name, spec in RESOURCES.items() if spec["Type"] == "AWS::CloudWatch::Alarm"}

# RetentionInDays values CloudWatch Logs accepts (PutRetentionPolicy).
CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827]
CLOUDWATCH_RETENTION_DAYS += [2192, 2557, 2922, 3288, 3653]

# Access-log variables that cannot hold an upload token, and why. Tokens travel in the query string
# (POST /upload?token=) and in paths (/upload-tokens/{uploadToken}, later /uploads/{token}/...), so
# anything that echoes the path, the query, a header or the host is out: $context.path,
# $context.identity.userAgent, $context.domainName, ... Add a variable here only with its reason.
TOKEN_FREE_VARIABLES = {
    "$context.requestId": "the id API Gateway gives the request",
    "$context.routeKey": "the matched route's template ('GET /upload-tokens/{uploadToken}'), '-' if none",
    "$context.status": "the response's status code",
    "$context.responseLatency": "milliseconds",
    "$context.integrationLatency": "milliseconds",
    "$context.integrationStatus": "the status code the function answered",
    "$context.integrationErrorMessage": (
        "API Gateway's words for a failed invocation; every route's exception becomes a 500 answer "
        "inside the function, so what reaches it is an init failure, a timeout or a crash: no request data"
    ),
    "$context.authorizer.error": "the JWT authorizer's verdict on the Authorization header (JWTs only)",
    "$context.authorizer.claims.sub": "the caller's user id, from a verified JWT",
    "$context.identity.sourceIp": "the client's IP address",
}


# --- logs -----------------------------------------------------------------------------------------


def test_log_retention_is_a_parameter_with_the_values_cloudwatch_accepts() -> None:
    parameter = TEMPLATE["Parameters"]["LogRetentionDays"]
    assert parameter["Default"] == 30
    assert parameter["AllowedValues"] == CLOUDWATCH_RETENTION_DAYS


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_logs_to_its_own_group_kept_for_the_retention(function: str) -> None:
    group = RESOURCES[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    spec = RESOURCES[group]
    assert spec["Type"] == "AWS::Logs::LogGroup"
    assert spec["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert spec.get("DeletionPolicy", "Delete") == "Delete"  # deleting the stack deletes its logs
    users = [f for f in FUNCTIONS if RESOURCES[f]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] == group]
    assert users == [function]


def access_log() -> dict[str, Any]:
    settings: dict[str, Any] = RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]
    return settings


def test_access_logs_go_to_their_own_group_kept_for_the_retention() -> None:
    destination = access_log()["DestinationArn"]
    group = destination["Fn::GetAtt"][0]
    assert destination == {"Fn::GetAtt": [group, "Arn"]}
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    function_groups = {RESOURCES[f]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for f in FUNCTIONS}
    assert group not in function_groups


def test_access_log_lines_are_json_with_what_a_request_is_traced_by() -> None:
    line = access_log()["Format"]
    # as API Gateway writes it: every variable replaced by its value (here, its name)
    fields = json.loads(re.sub(r"\$context\.([\w.]+)", r"\1", line))
    assert fields["requestId"] == "requestId"  # the functions' correlation_id
    assert fields["routeKey"] == "routeKey"
    assert fields["status"] == "status"
    assert fields["responseLatency"] == "responseLatency"
    assert fields["integrationError"] == "integrationErrorMessage"
    assert fields["sub"] == "authorizer.claims.sub"


def variables_that_may_carry_a_token(log_format: str) -> list[str]:
    """Every `$...` variable of an access-log format that is not known to be token-free."""
    return [v for v in re.findall(r"\$[\w.]+", log_format) if v not in TOKEN_FREE_VARIABLES]


def test_access_logs_cannot_carry_an_upload_token() -> None:
    assert variables_that_may_carry_a_token(access_log()["Format"]) == []


@pytest.mark.parametrize(
    "variable",
    [
        "$context.path",  # /upload-tokens/to1a2B3c...
        "$context.identity.userAgent",  # a header: whatever the client sends
        "$context.domainName",
        "$context.authorizer.claims.token",  # a claim we have not vetted
        "$request.querystring.token",  # not a $context variable at all
    ],
)
def test_the_token_check_refuses_what_could_carry_one(variable: str) -> None:
    log_format = access_log()["Format"].replace('"status":"$context.status"', f'"x":"{variable}"')
    assert variable in variables_that_may_carry_a_token(log_format)


# --- alarms ---------------------------------------------------------------------------------------


def alarms_on(namespace: str, metric: str, dimension: str, value: Any) -> list[str]:
    return [
        name
        for name, spec in ALARMS.items()
        if spec["Properties"]["Namespace"] == namespace
        and spec["Properties"]["MetricName"] == metric
        and spec["Properties"]["Dimensions"] == [{"Name": dimension, "Value": value}]
    ]


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_an_errors_and_a_throttles_alarm(function: str, metric: str) -> None:
    (alarm,) = alarms_on("AWS/Lambda", metric, "FunctionName", {"Ref": function})
    props = ALARMS[alarm]["Properties"]
    assert (props["Statistic"], props["ComparisonOperator"], props["Threshold"]) == (
        "Sum",
        "GreaterThanThreshold",
        0,
    )


def test_the_dead_letter_queue_alarms_on_its_first_message() -> None:
    (alarm,) = alarms_on(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        {"Fn::GetAtt": ["UploadsDeadLetterQueue", "QueueName"]},
    )
    props = ALARMS[alarm]["Properties"]
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)


def test_the_api_alarms_on_5xx_answers() -> None:
    (alarm,) = alarms_on("AWS/ApiGateway", "5xx", "ApiId", {"Ref": "HttpApi"})
    assert ALARMS[alarm]["Properties"]["Statistic"] == "Sum"


def test_the_uploads_queue_alarms_when_arrivals_wait() -> None:
    queue = {"Fn::GetAtt": ["UploadsQueue", "QueueName"]}
    (alarm,) = alarms_on("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue)
    props = ALARMS[alarm]["Properties"]
    queue_props = RESOURCES["UploadsQueue"]["Properties"]
    visibility, receives = queue_props["VisibilityTimeout"], queue_props["RedrivePolicy"]["maxReceiveCount"]
    assert visibility <= props["Threshold"] < receives * visibility  # past a retry, before the DLQ takes it


def test_deliveries_overdue_for_a_quarter_of_an_hour_or_lost_alarm() -> None:
    """The cleanup's own metrics: an accepted upload not in media/ for 15 runs in a row (every run
    retries it), or one whose object is gone."""
    (overdue,) = alarms_on("UploadTokens", "DeliveriesOverdue", "service", "upload-tokens")
    props = ALARMS[overdue]["Properties"]
    assert (props["Statistic"], props["Threshold"], props["ComparisonOperator"]) == (
        "Maximum",
        0,
        "GreaterThanThreshold",
    )
    assert (
        props["Period"] * props["DatapointsToAlarm"]
        == 15 * 60
        == props["Period"] * props["EvaluationPeriods"]
    )
    (lost,) = alarms_on("UploadTokens", "DeliveriesLost", "service", "upload-tokens")
    assert ALARMS[lost]["Properties"]["EvaluationPeriods"] == 1
    assert "docs/operations.md#runbook" in ALARMS[lost]["Properties"]["AlarmDescription"]


def resolved_alarms(**parameters: str) -> dict[str, dict[str, Any]]:
    r = resolver(**parameters)
    return {name: r.resolve(spec["Properties"]) for name, spec in ALARMS.items()}


def test_alarms_notify_nobody_by_default() -> None:
    assert not resolver().condition("CreateAlarmTopic")
    for name, props in resolved_alarms().items():
        assert "AlarmActions" not in props, name
        assert "OKActions" not in props, name


def test_alarm_email_creates_a_topic_that_every_alarm_notifies() -> None:
    r = resolver(AlarmEmail="ops@example.com")
    assert r.condition("CreateAlarmTopic")
    topic = RESOURCES["AlarmTopic"]
    assert topic["Condition"] == "CreateAlarmTopic"
    subscription = r.resolve(topic["Properties"]["Subscription"])
    assert subscription == [{"Protocol": "email", "Endpoint": "ops@example.com"}]
    for name, props in resolved_alarms(AlarmEmail="ops@example.com").items():
        assert props["AlarmActions"] == props["OKActions"] == ["ref:AlarmTopic"], name


def test_alarm_topic_arn_is_notified_and_no_topic_is_created() -> None:
    arn = "arn:aws:sns:eu-west-1:123456789012:ops"
    assert not resolver(AlarmTopicArn=arn).condition("CreateAlarmTopic")
    for name, props in resolved_alarms(AlarmTopicArn=arn).items():
        assert props["AlarmActions"] == props["OKActions"] == [arn], name


def test_alarms_exist_whatever_the_parameters_as_long_as_what_they_watch() -> None:
    # 5xx, two dead-letter queues, queue age, and the cleanup's overdue and lost deliveries (its own
    # metrics)
    assert len(ALARMS) == 2 * len(FUNCTIONS) + 6
    for name, spec in ALARMS.items():
        values = [dimension["Value"] for dimension in spec["Properties"]["Dimensions"]]
        watched = [
            value.get("Ref") or value.get("Fn::GetAtt", [None])[0]
            for value in values
            if isinstance(value, dict)
        ]
        if not watched:  # a metric of the service's own (Powertools' namespace): always there
            assert spec["Properties"]["Namespace"] == "UploadTokens" and "Condition" not in spec, name
            continue
        assert spec.get("Condition") == RESOURCES[watched[0]].get("Condition"), name


def test_email_and_topic_together_are_refused_at_deploy() -> None:
    rule = TEMPLATE["Rules"]["OneAlarmDestination"]
    both = resolver(AlarmEmail="ops@example.com", AlarmTopicArn="arn:aws:sns:eu-west-1:123456789012:ops")
    assert both.resolve(rule["RuleCondition"])
    assert not all(both.resolve(assertion["Assert"]) for assertion in rule["Assertions"])
    one = resolver(AlarmEmail="ops@example.com")
    assert all(one.resolve(assertion["Assert"]) for assertion in rule["Assertions"])


# --- security scan ------------------------------------------------------------------------------


def test_every_security_scan_exception_says_why() -> None:
    """checkov's inline skips (`# checkov:skip=<check>:<reason>`) sit in the resource they exempt."""
    skips = re.findall(r"checkov:skip=([A-Z_0-9]+)(?::(.*))?", TEMPLATE_PATH.read_text())
    assert skips
    for check, reason in skips:
        assert len(reason.strip()) >= 30, f"{check} skipped without a reason"
