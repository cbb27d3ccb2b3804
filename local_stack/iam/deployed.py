"""The policies as CloudFormation would deploy them: each function's role from template.yaml translated
by the SAM translator (samtranslator, what `sam deploy` runs: the roles SAM makes, with the managed
policies its event sources add), its values resolved with the local stack's resources; and the
resource policies of its buckets.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from local_stack.iam.managed import document
from local_stack.iam.model import ACCOUNT_ID, NamedPolicy
from local_stack.template import Resolver

#: What `sam package` puts in place of local code paths (the translator takes only S3 locations).
_PACKAGED = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


@dataclass(frozen=True)
class Role:
    function: str
    name: str
    policies: tuple[NamedPolicy, ...]

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT_ID}:role/{self.name}"

    @property
    def session_arn(self) -> str:
        """Who a call made by the function is: the role, assumed by Lambda for this function."""
        return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{self.name}/{self.function}"


class _NoManagedPolicyNames:
    """The translator's lookup of managed policies named without an ARN (this template names none)."""

    def load(self) -> dict[str, str]:
        return {}


def translated(template: dict[str, Any], region: str) -> dict[str, Any]:
    """template.yaml as CloudFormation receives it from `sam deploy`."""
    from samtranslator.translator.transform import transform  # 0.4 s to import: only when a stack starts

    packaged = copy.deepcopy(template)
    for name, resource in packaged["Resources"].items():
        if resource["Type"] in _PACKAGED:
            resource["Properties"][_PACKAGED[resource["Type"]]] = f"s3://packaged/{name}.zip"
    return dict(transform(packaged, {"AWS::Region": region}, _NoManagedPolicyNames()))


def deployed_roles(
    template: dict[str, Any], resolver: Resolver, region: str, stack_name: str
) -> dict[str, Role]:
    """Each deployed function's role, by function name."""
    resources = translated(template, region)["Resources"]
    roles = {}
    for function, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        properties = resources[role_id]["Properties"]
        policies = [
            NamedPolicy(policy["PolicyName"], resolver.resolve(policy["PolicyDocument"]))
            for policy in properties.get("Policies", [])
        ]
        policies += [
            NamedPolicy(arn.rsplit("/", 1)[1], document(arn))
            for arn in properties.get("ManagedPolicyArns", [])
        ]
        roles[function] = Role(function, f"{stack_name}-{role_id}", tuple(policies))
    return roles


def bucket_policies(template: dict[str, Any], resolver: Resolver) -> dict[str, dict[str, Any]]:
    """Each bucket's policy document, by bucket name."""
    return {
        resolver.resolve(resource["Properties"]["Bucket"]): resolver.resolve(
            resource["Properties"]["PolicyDocument"]
        )
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::S3::BucketPolicy"
        and ("Condition" not in resource or resolver.condition(resource["Condition"]))
    }
