"""Create template.yaml's AWS resources in the emulator, from the template itself (no second schema)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

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
        self.session = boto3.session.Session(region_name=region)
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
                properties = self.resolver.resolve(spec.get("Properties", {}))
                self.resources[name] = creator(self, name, properties)
        return self.resources[name]

    def _wanted(self, spec: dict[str, Any]) -> bool:
        return "Condition" not in spec or self.resolver.condition(spec["Condition"])

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"


def _dynamodb_table(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    client = p.session.client("dynamodb")
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
    client = p.session.client("cognito-idp")
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
    client = p.session.client("cognito-idp")
    args = {key: props[key] for key in ("GenerateSecret", "ExplicitAuthFlows") if key in props}
    created = client.create_user_pool_client(
        UserPoolId=props["UserPoolId"], ClientName=props.get("ClientName", name), **args
    )
    return Provisioned(ref=created["UserPoolClient"]["ClientId"])


def _user_pool_group(p: Provisioner, name: str, props: dict[str, Any]) -> Provisioned:
    client = p.session.client("cognito-idp")
    args = {key: props[key] for key in ("Description", "Precedence") if key in props}
    client.create_group(GroupName=props["GroupName"], UserPoolId=props["UserPoolId"], **args)
    return Provisioned(ref=props["GroupName"])


CREATORS: dict[str, Callable[[Provisioner, str, dict[str, Any]], Provisioned]] = {
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
    "AWS::Cognito::UserPoolGroup": _user_pool_group,
}
