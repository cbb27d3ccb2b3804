"""The IAM authorizations AWS checks for one request, as the emulator received it (DESIGN.md §7): each
action, on each resource, with the request's condition context, so that a function's call is judged
against its role as AWS judges it. A request this cannot map raises `Unjudged`: refused, never allowed.

JSON-protocol services by `X-Amz-Target` (here); S3's REST requests in local_stack/iam/s3_requests.py.
Actions and resource types as the Service Authorization Reference gives them (list_amazondynamodb.html,
list_amazonsqs.html, list_amazoneventbridge.html, list_awssecretsmanager.html): an operation takes the
action of its name on the resource it names, and "*" only for an action with no resource type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from local_stack.iam.model import ACCOUNT_ID, Authorization, Unjudged
from local_stack.iam.s3_requests import s3_authorizations, s3_context, s3_operation
from local_stack.received import Received

Needed = list[tuple[str, str]]  # (action, resource ARN)

#: Actions with no resource type (Service Authorization Reference): their Resource can only be "*".
NO_RESOURCE = {
    "dynamodb": frozenset(
        {
            "DescribeEndpoints",
            "DescribeLimits",
            "DescribeReservedCapacity",
            "DescribeReservedCapacityOfferings",
            "ListBackups",
            "ListContributorInsights",
            "ListGlobalTables",
            "ListStreams",
            "ListTables",
            "PurchaseReservedCapacityOfferings",
        }
    ),
    "sqs": frozenset({"ListQueues"}),
    "events": frozenset(
        {
            "ListApiDestinations",
            "ListArchives",
            "ListConnections",
            "ListEndpoints",
            "ListEventBuses",
            "ListEventSources",
            "ListPartnerEventSources",
            "ListReplays",
            "ListRuleNamesByTarget",
            "ListRules",
            "PutPartnerEvents",
            "PutPermission",
            "RemovePermission",
            "TestEventPattern",
        }
    ),
    "secretsmanager": frozenset({"GetRandomPassword", "ListSecrets"}),
}
#: A transaction's items: each is authorized as the single-item action it stands for
#: (DynamoDB Developer Guide, "Using IAM with DynamoDB transactions").
TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
#: SQS's batch operations are authorized as their single-message actions (there is no sqs:*Batch action).
SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")


def operation(received: Received) -> str:
    """The API operation's name for messages (e.g. "GetItem", "UploadPartCopy"), or the method and path."""
    if target := received.header("x-amz-target"):
        return target.rpartition(".")[2] or target
    if received.method != "OPTIONS" and _signed_service(received) in (None, "s3"):
        try:
            return s3_operation(received)
        except Unjudged:
            pass
    return f"{received.method} {received.raw_path}"


def authorizations(
    received: Received,
    region: str,
    *,
    form_fields: Mapping[str, str] | None = None,
    secure_transport: bool = True,
    source_tagged: Callable[[str, str, str | None], bool] | None = None,
) -> list[Authorization]:
    """Every authorization AWS checks for this request, in order; [] for a CORS preflight (OPTIONS).

    `form_fields`: a POST upload's form fields, names in lower case (local_stack/s3_post.py).
    `secure_transport`: `aws:SecureTransport`; the local stack stands for AWS's HTTPS endpoints.
    `source_tagged(bucket, key, version_id)`: whether a CopyObject's source has tags (copying them
    needs tagging permissions); without it, a source is taken to have some.
    A secret named by its name is `arn:aws:secretsmanager:<region>:<account>:secret:<name>`: AWS judges
    the secret's full ARN (its name, "-" and six random characters), which only the secret's store knows,
    so the caller resolves it (local_stack/iam/guard.py); a SecretId given as an ARN is kept as given.
    """
    if received.method == "OPTIONS":
        return []
    context = {"aws:SecureTransport": "true" if secure_transport else "false"}
    target = received.header("x-amz-target")
    if target is None:
        service = _signed_service(received)
        if service not in (None, "s3"):
            raise Unjudged(f"{received.method} {received.raw_path}: signed for {service}, no target")

        needed = s3_authorizations(received, form_fields, source_tagged)
        context |= s3_context(received, form_fields)
    else:
        needed = _json_authorizations(received, target, region)
    pairs = tuple(sorted(context.items()))
    return [Authorization(action, resource, pairs) for action, resource in needed]


def _signed_service(received: Received) -> str | None:
    """The service a SigV4 signature's credential scope names (`AKID/date/region/service/aws4_request`)."""
    found = _CREDENTIAL.search(received.header("authorization") or "")
    credential = found[1] if found else received.param("X-Amz-Credential")
    parts = (credential or "").split("/")
    return parts[3] if len(parts) == 5 else None


def _json_authorizations(received: Received, target: str, region: str) -> Needed:
    prefix, _, name = target.partition(".")
    service = SERVICES.get(prefix)
    if service is None or not name:
        raise Unjudged(
            f"{received.method} {received.raw_path} X-Amz-Target {target}: a service not judged here"
        )
    try:
        body = json.loads(received.small_body() or b"{}")
        if not isinstance(body, dict):
            raise TypeError("not a JSON object")
        return service(name, body, region)
    except Unjudged:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise Unjudged(f"X-Amz-Target {target}: its body names no resource ({error!r})") from None


def _arn(name_or_arn: str, prefix: str) -> str:
    """A resource named by its name or by its ARN (DynamoDB's TableName, Secrets Manager's SecretId)."""
    return name_or_arn if name_or_arn.startswith("arn:") else prefix + name_or_arn


def _dynamodb(name: str, body: dict[str, Any], region: str) -> Needed:
    def table(table_name: str) -> str:
        return _arn(table_name, f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/")

    if name in NO_RESOURCE["dynamodb"]:
        return [(f"dynamodb:{name}", "*")]
    if name == "TransactWriteItems":
        needed = []
        for item in body["TransactItems"]:
            ((kind, spec),) = item.items()
            needed.append((f"dynamodb:{TRANSACT_WRITE[kind]}", table(spec["TableName"])))
        return needed
    if name == "TransactGetItems":
        return [("dynamodb:GetItem", table(item["Get"]["TableName"])) for item in body["TransactItems"]]
    if name in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{name}", table(each)) for each in body["RequestItems"]]
    if isinstance(body.get("TableName"), str):
        arn = table(body["TableName"])
        if name in ("Query", "Scan") and body.get("IndexName"):
            arn = f"{arn}/index/{body['IndexName']}"
        return [(f"dynamodb:{name}", arn)]
    if isinstance(body.get("ResourceArn"), str):  # TagResource, ListTagsOfResource, resource policies
        return [(f"dynamodb:{name}", body["ResourceArn"])]
    raise Unjudged(f"DynamoDB {name}: no table this stack can tell")


def _sqs(name: str, body: dict[str, Any], region: str) -> Needed:
    action = f"sqs:{SQS_BATCH.get(name, name)}"
    if name in NO_RESOURCE["sqs"]:
        return [(action, "*")]
    if name in ("GetQueueUrl", "CreateQueue"):
        account = body.get("QueueOwnerAWSAccountId") or ACCOUNT_ID
        return [(action, f"arn:aws:sqs:{region}:{account}:{body['QueueName']}")]
    if isinstance(body.get("QueueUrl"), str):  # https://sqs.<region>.amazonaws.com/<account>/<name>
        account, _, queue = urlsplit(body["QueueUrl"]).path.strip("/").partition("/")
        if account.isdigit() and queue and "/" not in queue:
            return [(action, f"arn:aws:sqs:{region}:{account}:{queue}")]
    raise Unjudged(f"SQS {name}: no queue this stack can tell")


def _events(name: str, body: dict[str, Any], region: str) -> Needed:
    if name in NO_RESOURCE["events"]:
        return [(f"events:{name}", "*")]
    if name == "PutEvents":  # each entry on its bus: a name (none: "default") or the bus's ARN
        buses = [entry.get("EventBusName") or "default" for entry in body["Entries"]]
        return [
            (
                "events:PutEvents",
                bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{ACCOUNT_ID}:event-bus/{bus}",
            )
            for bus in buses
        ]
    raise Unjudged(f"EventBridge {name}: not judged by this stack")


def _secretsmanager(name: str, body: dict[str, Any], region: str) -> Needed:
    def secret(secret_id: str) -> str:
        return _arn(secret_id, f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:")

    if name in NO_RESOURCE["secretsmanager"]:
        return [(f"secretsmanager:{name}", "*")]
    if name == "BatchGetSecretValue":  # and GetSecretValue on each secret it returns (its API Reference)
        if body.get("Filters") or not body.get("SecretIdList"):
            raise Unjudged(
                "Secrets Manager BatchGetSecretValue by filters: which secrets it reads is not known"
            )
        return [("secretsmanager:BatchGetSecretValue", "*")] + [
            ("secretsmanager:GetSecretValue", secret(each)) for each in body["SecretIdList"]
        ]
    secret_id = body.get("SecretId") or (body.get("Name") if name == "CreateSecret" else None)
    if isinstance(secret_id, str) and secret_id:
        return [(f"secretsmanager:{name}", secret(secret_id))]
    raise Unjudged(f"Secrets Manager {name}: no secret this stack can tell")


#: JSON-protocol services by their X-Amz-Target prefix.
SERVICES: dict[str, Callable[[str, dict[str, Any], str], Needed]] = {
    "DynamoDB_20120810": _dynamodb,
    "AmazonSQS": _sqs,
    "AWSEvents": _events,
    "secretsmanager": _secretsmanager,
}
