"""The strict emulator's IAM: a call signed with a function's credentials is judged against that
function's role, as deployed (local_stack/iam/deployed.py), by a real policy evaluator
(local_stack/iam/simulator.py), and refused with AWS's AccessDenied when the role does not allow it.

Before the stack's roles are known (`adopt`), and in an emulator without a stack (unit tests,
benchmarks), any credential the emulator knows may make any call. Once they are, a call signed with
no function's credentials but the tools' is refused: the tools stand for the account's administrator
(provisioning, tests' own checks), nothing else does.

A bucket or queue made by tests to stand in for one of the template's (tagged `local-stack:stands-for`
with that one's name: the integration tests' own bucket, which no queue consumer races, a queue of a
test's own) is judged as that one: its ARN is the template resource's for the roles' policies and the
bucket policy.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from local_stack.credentials import TOOLS, Credentials, for_function
from local_stack.iam.deployed import Role
from local_stack.iam.model import ACCOUNT_ID, Authorization, Unjudged
from local_stack.iam.requests import authorizations
from local_stack.iam.simulator import PolicySimulator
from local_stack.iam.usage import Usage
from local_stack.received import Received, Refused

STANDS_FOR_TAG = "local-stack:stands-for"
_S3 = "arn:aws:s3:::"
_READ = "s3:GetObject"  # of the current version: a GetObject or HeadObject without a versionId


class RoleGuard:
    def __init__(self) -> None:
        self.roles: dict[str, Role] = {}  # by access key id
        self.known: dict[str, Credentials] = {}  # their functions' credentials, by access key id
        self.bucket_policies: dict[str, dict[str, Any]] = {}
        self.region = "us-east-1"
        self.usage = Usage()
        self._simulator: PolicySimulator | None = None
        self._stand_ins: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    @property
    def judging(self) -> bool:
        return bool(self.roles)

    def adopt(
        self, roles: Mapping[str, Role], bucket_policies: Mapping[str, dict[str, Any]], region: str
    ) -> None:
        """From now on, judge each call by the role of the function that signed it."""
        if self._simulator is None:
            self._simulator = PolicySimulator()
            self._simulator.start()  # node, now rather than at the first call
        self.bucket_policies = dict(bucket_policies)
        self.region = region
        self.usage.adopt(roles.values())
        credentials = {name: for_function(name) for name in roles}
        self.known.update({each.access_key_id: each for each in credentials.values()})
        self.roles = {credentials[name].access_key_id: role for name, role in roles.items()}

    def judge(self, received: Received, signer: Credentials, form: dict[str, str] | None = None) -> None:
        """Returns if the signer may make this request; raises `Refused` (AccessDenied) if not."""
        if not self.judging or signer.access_key_id == TOOLS.access_key_id:
            return
        role = self.roles.get(signer.access_key_id)
        if role is None:
            raise _denied(
                received,
                f"User: {signer.access_key_id} is no role of this stack's functions: a call made outside any "
                "function's invocation (local_stack/iam/acting.py: running_as)",
            )
        assert self._simulator is not None
        try:
            needed = authorizations(received, self.region, form_fields=form)
        except Unjudged as unjudged:
            raise _denied(
                received, f"the local stack cannot tell which IAM actions this call needs: {unjudged}"
            ) from None
        for authorization in needed:
            self._require(received, role, authorization)
        if received.s3 and received.method in ("GET", "HEAD") and [each.action for each in needed] == [_READ]:
            self._missing_keys_are_listed(received, role, needed[0])

    def _require(self, received: Received, role: Role, authorization: Authorization) -> None:
        assert self._simulator is not None
        deployed = self._as_deployed(authorization)
        decision = self._simulator.decide(
            role.session_arn, deployed, role.policies, self._resource_policy(deployed.resource)
        )
        self.usage.record(role, deployed, decision.allowed)
        if not decision.allowed:
            raise _denied(received, decision.message)

    def _missing_keys_are_listed(self, received: Received, role: Role, read: Authorization) -> None:
        """S3 answers a GetObject or HeadObject of a key it does not hold with 404 only to whoever may
        s3:ListBucket the bucket; to anyone else with 403 AccessDenied (it tells nothing of the keys)."""
        bucket, _, key = read.resource[len(_S3) :].partition("/")
        if _holds(bucket, key):
            return
        listing = Authorization("s3:ListBucket", f"{_S3}{bucket}", read.context)
        try:
            self._require(received, role, listing)
        except Refused:
            raise Refused(403, "AccessDenied", "Access Denied") from None

    def close(self) -> None:
        if self._simulator is not None:
            self._simulator.close()

    def _as_deployed(self, authorization: Authorization) -> Authorization:
        """Stand-ins' ARNs as their template resource's; a secret named without its suffix by its ARN."""
        resource = authorization.resource
        queues = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:"
        if resource.startswith(_S3):
            bucket, slash, rest = resource[len(_S3) :].partition("/")
            resource = f"{_S3}{self._stands_for('s3', bucket)}{slash}{rest}"
        elif resource.startswith(queues):
            resource = queues + self._stands_for("sqs", resource[len(queues) :])
        elif resource.startswith(f"arn:aws:secretsmanager:{self.region}:{ACCOUNT_ID}:secret:"):
            resource = _secret_arn(resource, self.region)
        return Authorization(authorization.action, resource, authorization.context)

    def _resource_policy(self, resource: str) -> dict[str, Any] | None:
        if not resource.startswith(_S3):
            return None
        return self.bucket_policies.get(resource[len(_S3) :].partition("/")[0])

    def _stands_for(self, service: str, name: str) -> str:
        """The template resource a bucket or queue stands in for (its `STANDS_FOR_TAG`), else itself."""
        with self._lock:
            if (service, name) in self._stand_ins:
                return self._stand_ins[(service, name)]
        stands_for = _tags(service, name, self.region).get(STANDS_FOR_TAG, name)
        if stands_for != name:  # tagged when made: kept (an untagged name is looked up again)
            with self._lock:
                self._stand_ins[(service, name)] = stands_for
        return stands_for


def _tags(service: str, name: str, region: str) -> dict[str, str]:
    """A bucket's or queue's tags, read from the emulator's own state (in this process)."""
    try:
        if service == "s3":
            from moto.s3.models import s3_backends

            tags = s3_backends[ACCOUNT_ID]["aws"].get_bucket_tagging(name)["Tags"]
            return {tag["Key"]: tag["Value"] for tag in tags}
        from moto.sqs.models import sqs_backends

        return dict(sqs_backends[ACCOUNT_ID][region].list_queue_tags(name).tags or {})
    except Exception:  # no such bucket or queue, or no tags: judged as itself
        return {}


def _holds(bucket: str, key: str) -> bool:
    """Whether the emulator holds the key's current version (a missing bucket: S3 says so itself)."""
    from moto.s3.models import s3_backends

    try:
        return s3_backends[ACCOUNT_ID]["aws"].get_object(bucket, key) is not None
    except Exception:
        return True


def _secret_arn(resource: str, region: str) -> str:
    """A secret named by its name: judged by its ARN (`<name>-` and six characters), as AWS does."""
    from moto.secretsmanager.models import secretsmanager_backends

    name = resource.rsplit(":secret:", 1)[1]
    try:
        return str(secretsmanager_backends[ACCOUNT_ID][region].describe_secret(name).arn)
    except Exception:  # no such secret: the ARN as named
        return resource


def _denied(received: Received, message: str) -> Refused:
    if received.s3:
        return Refused(403, "AccessDenied", message)
    target = received.header("x-amz-target") or ""
    if target.startswith("AmazonSQS."):
        return Refused(403, "AccessDenied", message, s3=False)
    return Refused(400, "AccessDeniedException", message, s3=False)
