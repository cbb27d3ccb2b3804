"""Create template.yaml's AWS resources in the emulator, from the template itself (no second schema)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from local_stack.credentials import TOOLS
from local_stack.template import Resolver

ACCOUNT_ID = "123456789012"


@dataclass
class Provisioned:
    """What CloudFormation would answer for a resource: `Ref` and `Fn::GetAtt` values."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


class Provisioner:
    """Walks the template's resources; each one emulated is created once, its dependencies first."""

    def __init__(
        self, template: dict[str, Any], parameters: dict[str, str], region: str, stack_name: str
    ) -> None:
        self.template = template
        self.region = region
        self.stack_name = stack_name
        # As CloudFormation would, with the tools' credentials rather than a function's.
        self.session = boto3.session.Session(region_name=region, **TOOLS.client_arguments())
        self.resources: dict[str, Provisioned] = {}
        self.resolver = Resolver(
            template=template,
            parameters=parameters,
            pseudo={
                "AWS::Region": region,
                "AWS::AccountId": ACCOUNT_ID,
                "AWS::StackName": stack_name,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
            },
            ref=lambda name: self.provision(name).ref,
            get_att=lambda name, attribute: self.provision(name).attributes[attribute],
        )

    def provision_all(self) -> dict[str, Provisioned]:
        for name, spec in self.template["Resources"].items():
            if spec["Type"] in CREATORS and self._wanted(spec):
                self.provision(name)
        return self.resources

    def provision(self, name: str) -> Provisioned:
        if name not in self.resources:
            spec = self.template["Resources"][name]
            creator = CREATORS.get(spec["Type"])
            if creator is None or not self._wanted(spec):
                # Served by the local API (functions, HTTP API, layer) or not emulated (IAM): name only.
                self.resources[name] = Provisioned(ref=name)
            else:
                depends = spec.get("DependsOn", [])
                for dependency in [depends] if isinstance(depends, str) else depends:
                    self.provision(dependency)
                properties = self.resolver.resolve(spec.get("Properties", {}))
                self.resources[name] = creator(self, name, properties)
        return self.resources[name]

    def _wanted(self, spec: dict[str, Any]) -> bool:
        return "Condition" not in spec or self.resolver.condition(spec["Condition"])

    def client(self, service: str) -> Any:
        return self.session.client(service)  # type: ignore[call-overload]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"


def _dynamodb_table(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    client = p.client("dynamodb")
    table = props.get("TableName") or f"{p.stack_name}-{name}"
    copied = (
        "AttributeDefinitions",
        "KeySchema",
        "BillingMode",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
    )
    args: dict[str, Any] = {key: props[key] for key in copied if key in props}
    client.create_table(TableName=table, **args)
    if "TimeToLiveSpecification" in props:
        client.update_time_to_live(TableName=table, TimeToLiveSpecification=props["TimeToLiveSpecification"])
    if "PointInTimeRecoverySpecification" in props:
        client.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification=props["PointInTimeRecoverySpecification"]
        )
    return Provisioned(ref=table, attributes={"Arn": p.arn("dynamodb", f"table/{table}")})


def _user_pool(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    client = p.client("cognito-idp")
    args = {
        key: props[key] for key in ("Policies", "AdminCreateUserConfig", "UsernameAttributes") if key in props
    }
    pool = client.create_user_pool(PoolName=props.get("UserPoolName", f"{p.stack_name}-{name}"), **args)
    pool_id = pool["UserPool"]["Id"]
    return Provisioned(
        ref=pool_id,
        attributes={
            "Arn": pool["UserPool"]["Arn"],
            "ProviderName": f"cognito-idp.{p.region}.amazonaws.com/{pool_id}",
            "ProviderURL": f"https://cognito-idp.{p.region}.amazonaws.com/{pool_id}",
        },
    )


def _user_pool_client(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    client = p.client("cognito-idp")
    args: dict[str, Any] = {
        key: props[key] for key in ("GenerateSecret", "ExplicitAuthFlows") if key in props
    }
    # How long its tokens live (the template: AuthTokenValidityMinutes), as numbers, as the API takes them.
    for key in ("IdTokenValidity", "AccessTokenValidity", "RefreshTokenValidity"):
        if key in props:
            args[key] = int(props[key])
    if "TokenValidityUnits" in props:
        args["TokenValidityUnits"] = props["TokenValidityUnits"]
    created = client.create_user_pool_client(
        UserPoolId=props["UserPoolId"], ClientName=props.get("ClientName", name), **args
    )
    return Provisioned(ref=created["UserPoolClient"]["ClientId"])


def _user_pool_group(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    client = p.client("cognito-idp")
    args = {key: props[key] for key in ("Description", "Precedence") if key in props}
    client.create_group(GroupName=props["GroupName"], UserPoolId=props["UserPoolId"], **args)
    return Provisioned(ref=props["GroupName"])


def _sqs_queue(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    client = p.client("sqs")
    queue_name = props.get("QueueName") or f"{p.stack_name}-{name}"
    attributes = {
        key: json.dumps(value)
        if isinstance(value, dict)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
        for key, value in props.items()
        if key in _QUEUE_ATTRIBUTES
    }
    url = client.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    arn = p.arn("sqs", queue_name)
    return Provisioned(ref=url, attributes={"Arn": arn, "QueueName": queue_name, "QueueUrl": url})


def _attribute(value: Any) -> str:
    """SQS attributes are strings: JSON for documents, `true`/`false` for booleans."""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


_QUEUE_ATTRIBUTES = {
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
}


def _queue_policy(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    client = p.client("sqs")
    for url in props["Queues"]:
        client.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
    return Provisioned(ref=name)


def _s3_bucket(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    """The bucket with its settings; CloudFormation's property shapes mapped to the S3 API's."""
    client = p.client("s3")
    bucket = props.get("BucketName") or f"{p.stack_name}-{name}".lower()
    client.create_bucket(Bucket=bucket)
    if "PublicAccessBlockConfiguration" in props:
        client.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "VersioningConfiguration" in props:
        client.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
        )
    if "BucketEncryption" in props:
        rules = [
            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
    if "CorsConfiguration" in props:
        rules = [
            {
                "AllowedOrigins": rule["AllowedOrigins"],
                "AllowedMethods": rule["AllowedMethods"],
                "AllowedHeaders": rule.get("AllowedHeaders", []),
                "ExposeHeaders": rule.get("ExposedHeaders", []),
                "MaxAgeSeconds": int(rule.get("MaxAge", 0)),
            }
            for rule in props["CorsConfiguration"]["CorsRules"]
        ]
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    if "LifecycleConfiguration" in props:
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [_lifecycle_rule(r) for r in props["LifecycleConfiguration"]["Rules"]]
            },
        )
    arn = f"arn:aws:s3:::{bucket}"
    queues = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
    if queues:
        client.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": queue["Queue"],
                        "Events": [queue["Event"]],
                        "Filter": {"Key": {"FilterRules": queue["Filter"]["S3Key"]["Rules"]}},
                    }
                    for queue in queues
                ]
            },
        )
    return Provisioned(ref=bucket, attributes={"Arn": arn, "DomainName": f"{bucket}.s3.amazonaws.com"})


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "ExpiredObjectDeleteMarker" in rule:
        converted["Expiration"] = {"ExpiredObjectDeleteMarker": bool(rule["ExpiredObjectDeleteMarker"])}
    if "NoncurrentVersionExpiration" in rule:
        days = int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        converted["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return converted


def _bucket_policy(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    p.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
    return Provisioned(ref=name)


def _events_rule(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    """An event-pattern rule with its targets (moto's EventBridge delivers to SQS targets)."""
    rule_name = f"{p.stack_name}-{name}"
    bus = props.get("EventBusName", "default")
    events = p.client("events")
    arn = events.put_rule(
        Name=rule_name,
        EventBusName=bus,
        EventPattern=json.dumps(props["EventPattern"]),
        State=props.get("State", "ENABLED"),
    )["RuleArn"]
    targets = [{"Id": target["Id"], "Arn": target["Arn"]} for target in props.get("Targets", [])]
    if targets:
        events.put_targets(Rule=rule_name, EventBusName=bus, Targets=targets)
    return Provisioned(ref=rule_name, attributes={"Arn": arn})


CREATORS: dict[str, Callable[[Provisioner, str, dict[str, Any]], Provisioned]] = {
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
    "AWS::Cognito::UserPoolGroup": _user_pool_group,
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::S3::Bucket": _s3_bucket,
    "AWS::Events::Rule": _events_rule,
    # AWS::S3::BucketPolicy is not applied: its only statement denies plain HTTP, and the emulator
    # speaks nothing else (moto enforces bucket policies). tests/unit/test_template.py guards it.
}
