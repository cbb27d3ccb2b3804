"""S3's REST requests (path-style `/bucket/key`) mapped to the IAM authorizations S3 checks for them.

Actions and resources as "Required permissions for Amazon S3 API operations" (S3 User Guide,
using-with-s3-policy-actions.html) and the Service Authorization Reference (list_amazons3.html) give
them: a bucket operation on `arn:aws:s3:::bucket`, an object operation on `arn:aws:s3:::bucket/key`
(the key as text, not URL-encoded). The requester's context: `s3:authType`, `s3:signatureversion`
and `aws:SecureTransport`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

import xmltodict

from local_stack.iam.model import Unjudged
from local_stack.received import Received

#: Whether the object (bucket, key, version id or None) has tags; None: assume it has.
SourceTagged = Callable[[str, str, str | None], bool]
Needed = list[tuple[str, str]]  # (action, resource ARN)

#: Bucket subresources: subresource, method, S3 operation, IAM action. Deleting a configuration takes
#: the action that puts it, as the S3 page lists (DeleteBucketCors: s3:PutBucketCORS, ...).
_BUCKET_TABLE = """
accelerate           GET    GetBucketAccelerateConfiguration             GetAccelerateConfiguration
accelerate           PUT    PutBucketAccelerateConfiguration             PutAccelerateConfiguration
acl                  GET    GetBucketAcl                                 GetBucketAcl
acl                  PUT    PutBucketAcl                                 PutBucketAcl
analytics            GET    GetBucketAnalyticsConfiguration              GetAnalyticsConfiguration
analytics            PUT    PutBucketAnalyticsConfiguration              PutAnalyticsConfiguration
analytics            DELETE DeleteBucketAnalyticsConfiguration           PutAnalyticsConfiguration
cors                 GET    GetBucketCors                                GetBucketCORS
cors                 PUT    PutBucketCors                                PutBucketCORS
cors                 DELETE DeleteBucketCors                             PutBucketCORS
encryption           GET    GetBucketEncryption                          GetEncryptionConfiguration
encryption           PUT    PutBucketEncryption                          PutEncryptionConfiguration
encryption           DELETE DeleteBucketEncryption                       PutEncryptionConfiguration
intelligent-tiering  GET    GetBucketIntelligentTieringConfiguration     GetIntelligentTieringConfiguration
intelligent-tiering  PUT    PutBucketIntelligentTieringConfiguration     PutIntelligentTieringConfiguration
intelligent-tiering  DELETE DeleteBucketIntelligentTieringConfiguration  PutIntelligentTieringConfiguration
inventory            GET    GetBucketInventoryConfiguration              GetInventoryConfiguration
inventory            PUT    PutBucketInventoryConfiguration              PutInventoryConfiguration
inventory            DELETE DeleteBucketInventoryConfiguration           PutInventoryConfiguration
lifecycle            GET    GetBucketLifecycleConfiguration              GetLifecycleConfiguration
lifecycle            PUT    PutBucketLifecycleConfiguration              PutLifecycleConfiguration
lifecycle            DELETE DeleteBucketLifecycle                        PutLifecycleConfiguration
location             GET    GetBucketLocation                            GetBucketLocation
logging              GET    GetBucketLogging                             GetBucketLogging
logging              PUT    PutBucketLogging                             PutBucketLogging
metrics              GET    GetBucketMetricsConfiguration                GetMetricsConfiguration
metrics              PUT    PutBucketMetricsConfiguration                PutMetricsConfiguration
metrics              DELETE DeleteBucketMetricsConfiguration             PutMetricsConfiguration
notification         GET    GetBucketNotificationConfiguration           GetBucketNotification
notification         PUT    PutBucketNotificationConfiguration           PutBucketNotification
object-lock          GET    GetObjectLockConfiguration                   GetBucketObjectLockConfiguration
object-lock          PUT    PutObjectLockConfiguration                   PutBucketObjectLockConfiguration
ownershipControls    GET    GetBucketOwnershipControls                   GetBucketOwnershipControls
ownershipControls    PUT    PutBucketOwnershipControls                   PutBucketOwnershipControls
ownershipControls    DELETE DeleteBucketOwnershipControls                PutBucketOwnershipControls
policy               GET    GetBucketPolicy                              GetBucketPolicy
policy               PUT    PutBucketPolicy                              PutBucketPolicy
policy               DELETE DeleteBucketPolicy                           DeleteBucketPolicy
policyStatus         GET    GetBucketPolicyStatus                        GetBucketPolicyStatus
publicAccessBlock    GET    GetPublicAccessBlock                         GetBucketPublicAccessBlock
publicAccessBlock    PUT    PutPublicAccessBlock                         PutBucketPublicAccessBlock
publicAccessBlock    DELETE DeletePublicAccessBlock                      PutBucketPublicAccessBlock
replication          GET    GetBucketReplication                         GetReplicationConfiguration
replication          PUT    PutBucketReplication                         PutReplicationConfiguration
replication          DELETE DeleteBucketReplication                      PutReplicationConfiguration
requestPayment       GET    GetBucketRequestPayment                      GetBucketRequestPayment
requestPayment       PUT    PutBucketRequestPayment                      PutBucketRequestPayment
tagging              GET    GetBucketTagging                             GetBucketTagging
tagging              PUT    PutBucketTagging                             PutBucketTagging
tagging              DELETE DeleteBucketTagging                          PutBucketTagging
uploads              GET    ListMultipartUploads                         ListBucketMultipartUploads
versioning           GET    GetBucketVersioning                          GetBucketVersioning
versioning           PUT    PutBucketVersioning                          PutBucketVersioning
versions             GET    ListObjectVersions                           ListBucketVersions
website              GET    GetBucketWebsite                             GetBucketWebsite
website              PUT    PutBucketWebsite                             PutBucketWebsite
website              DELETE DeleteBucketWebsite                          DeleteBucketWebsite
"""
#: Object subresources: subresource, method, S3 operation, action, action with a `versionId`.
_OBJECT_TABLE = """
acl        GET    GetObjectAcl         GetObjectAcl         GetObjectVersionAcl
acl        PUT    PutObjectAcl         PutObjectAcl         PutObjectVersionAcl
attributes GET    GetObjectAttributes  GetObjectAttributes  GetObjectVersionAttributes
legal-hold GET    GetObjectLegalHold   GetObjectLegalHold   GetObjectLegalHold
legal-hold PUT    PutObjectLegalHold   PutObjectLegalHold   PutObjectLegalHold
restore    POST   RestoreObject        RestoreObject        RestoreObject
retention  GET    GetObjectRetention   GetObjectRetention   GetObjectRetention
retention  PUT    PutObjectRetention   PutObjectRetention   PutObjectRetention
select     POST   SelectObjectContent  GetObject            GetObjectVersion
tagging    GET    GetObjectTagging     GetObjectTagging     GetObjectVersionTagging
tagging    PUT    PutObjectTagging     PutObjectTagging     PutObjectVersionTagging
tagging    DELETE DeleteObjectTagging  DeleteObjectTagging  DeleteObjectVersionTagging
torrent    GET    GetObjectTorrent     GetObjectTorrent     GetObjectVersionTorrent
"""
BUCKET = {
    (sub, method): (operation, action)
    for sub, method, operation, action in map(str.split, _BUCKET_TABLE.strip().splitlines())
}
OBJECT = {
    (row[0], row[1]): (row[2], row[3], row[4]) for row in map(str.split, _OBJECT_TABLE.strip().splitlines())
}
SUBRESOURCES = {name for name, _ in BUCKET} | {name for name, _ in OBJECT} | {"delete", "uploadId"}
#: Query parameters that name no subresource: listing and paging, versions and parts, signatures (and
#: any `X-Amz-*` or `response-*`).
_PARAMETERS = """
AWSAccessKeyId Expires Signature continuation-token delimiter encoding-type fetch-owner id key-marker
list-type marker max-keys max-parts max-uploads part-number-marker partNumber prefix select-type
start-after upload-id-marker version-id-marker versionId x-id
"""
PARAMETERS = frozenset(_PARAMETERS.split())
_GRANTS = ("full-control", "read", "read-acp", "write", "write-acp")
_ACL_HEADERS = ("x-amz-acl", *(f"x-amz-grant-{grant}" for grant in _GRANTS))


def is_form_upload(received: Received) -> bool:
    content_type = (received.header("content-type") or "").lower()
    return received.method == "POST" and content_type.startswith("multipart/form-data")


def s3_operation(received: Received) -> str:
    """The S3 API operation (e.g. "UploadPartCopy"); Unjudged if it is none S3 has."""
    return _classify(received, None, None, named_only=True)[0]


def s3_authorizations(
    received: Received, form_fields: Mapping[str, str] | None, source_tagged: SourceTagged | None
) -> Needed:
    return _classify(received, form_fields, source_tagged)[1]


def s3_context(received: Received, form_fields: Mapping[str, str] | None) -> dict[str, str]:
    """`s3:authType` and `s3:signatureversion` as S3 sets them (none for an anonymous request)."""
    authorization = received.header("authorization") or ""
    if is_form_upload(received) and form_fields is not None:
        auth_type, algorithm = "POST", form_fields.get("x-amz-algorithm")
        if algorithm is None and "signature" in form_fields:
            algorithm = "AWS"
    elif authorization:
        auth_type, algorithm = "REST-HEADER", authorization.split(" ", 1)[0]
    else:
        auth_type, algorithm = "REST-QUERY-STRING", received.param("X-Amz-Algorithm")
        if algorithm is None and received.has_param("Signature"):
            algorithm = "AWS"
    if not algorithm:
        return {}
    return {"s3:authType": auth_type, "s3:signatureversion": algorithm}


def _classify(
    received: Received,
    form_fields: Mapping[str, str] | None,
    source_tagged: SourceTagged | None,
    named_only: bool = False,
) -> tuple[str, Needed]:
    method = received.method
    bucket, _, key = received.path[1:].partition("/")  # path-style: /bucket/key
    names = [name for name, _ in received.query]
    signing = [name for name in names if name.lower().startswith(("x-amz-", "response-"))]
    unknown = [name for name in names if name not in SUBRESOURCES | PARAMETERS | set(signing)]
    subresources = sorted({name for name in names if name in SUBRESOURCES})
    if unknown or len(subresources) > 1:
        raise Unjudged(f"S3 {method} {received.raw_path}?{'&'.join(names)}: no S3 operation this stack knows")
    sub = subresources[0] if subresources else None
    if not bucket:
        if method == "GET" and sub is None:
            return "ListBuckets", [("s3:ListAllMyBuckets", "*")]
        raise Unjudged(f"S3 {method} /: no S3 operation this stack knows")
    if key:
        return _object(received, bucket, key, sub, source_tagged)
    return _bucket(received, bucket, sub, form_fields, named_only)


def _bucket(
    received: Received, bucket: str, sub: str | None, form_fields: Mapping[str, str] | None, named_only: bool
) -> tuple[str, Needed]:
    method, arn = received.method, f"arn:aws:s3:::{bucket}"
    if sub is None and method in ("GET", "HEAD"):
        name = "HeadBucket" if method == "HEAD" else "ListObjects"
        return name + ("V2" if received.param("list-type") == "2" else ""), [("s3:ListBucket", arn)]
    if sub is None and method == "PUT":
        return "CreateBucket", _create_bucket(received, arn)
    if sub is None and method == "DELETE":
        return "DeleteBucket", [("s3:DeleteBucket", arn)]
    if sub is None and is_form_upload(received):
        return "PostObject", [] if named_only else _post_object(bucket, form_fields)
    if sub == "delete" and method == "POST":
        return "DeleteObjects", _delete_objects(received, bucket)
    if sub is not None and (sub, method) in BUCKET:
        operation, action = BUCKET[(sub, method)]
        return operation, [(f"s3:{action}", arn)]
    raise Unjudged(
        f"S3 {method} /{bucket}{'?' + sub if sub else ''}: no S3 bucket operation this stack knows"
    )


def _object(
    received: Received, bucket: str, key: str, sub: str | None, source_tagged: SourceTagged | None
) -> tuple[str, Needed]:
    method, arn = received.method, f"arn:aws:s3:::{bucket}/{key}"
    versioned = received.has_param("versionId")
    copy_source = received.header("x-amz-copy-source")
    if sub == "uploadId":
        if method == "PUT" and received.has_param("partNumber"):
            if copy_source is None:
                return "UploadPart", [("s3:PutObject", arn)]
            return "UploadPartCopy", [("s3:PutObject", arn), _read_source(copy_source)[0]]
        multipart = {
            "GET": ("ListParts", "ListMultipartUploadParts"),
            "POST": ("CompleteMultipartUpload", "PutObject"),
            "DELETE": ("AbortMultipartUpload", "AbortMultipartUpload"),
        }
        if method in multipart:
            operation, action = multipart[method]
            return operation, [(f"s3:{action}", arn)]
    elif sub == "uploads" and method == "POST":
        return "CreateMultipartUpload", [("s3:PutObject", arn), *_written_with(received, arn)]
    elif sub is None and method == "PUT" and copy_source is not None:
        return "CopyObject", _copy_object(received, arn, copy_source, source_tagged)
    elif sub is None and method == "PUT":
        return "PutObject", [("s3:PutObject", arn), *_written_with(received, arn)]
    elif sub is None and method in ("GET", "HEAD"):
        operation = "GetObject" if method == "GET" else "HeadObject"
        return operation, [("s3:GetObjectVersion" if versioned else "s3:GetObject", arn)]
    elif sub is None and method == "DELETE":
        return "DeleteObject", [("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", arn)]
    elif sub is not None and (sub, method) in OBJECT:
        operation, action, version_action = OBJECT[(sub, method)]
        return operation, [(f"s3:{version_action if versioned else action}", arn)]
    raise Unjudged(
        f"S3 {method} /{bucket}/{key}{'?' + sub if sub else ''}: no S3 object operation this stack knows"
    )


def _written_with(received: Received, arn: str) -> Needed:
    """What writing an object with these headers needs besides s3:PutObject (PutObject's Permissions,
    S3 API Reference): its tags, its ACL, its Object Lock retention and legal hold."""
    needed: Needed = []
    if received.header("x-amz-tagging") is not None:
        needed.append(("s3:PutObjectTagging", arn))
    if any(received.header(name) is not None for name in _ACL_HEADERS):
        needed.append(("s3:PutObjectAcl", arn))
    if received.header("x-amz-object-lock-mode") or received.header("x-amz-object-lock-retain-until-date"):
        needed.append(("s3:PutObjectRetention", arn))
    if received.header("x-amz-object-lock-legal-hold") is not None:
        needed.append(("s3:PutObjectLegalHold", arn))
    return needed


def _read_source(copy_source: str) -> tuple[tuple[str, str], tuple[str, str, str | None]]:
    """The read of a copy's source (`bucket/key`, URL-encoded, `?versionId=` for one version) and the
    source itself: s3:GetObject, or s3:GetObjectVersion for one version."""
    raw, _, query = copy_source.partition("?")
    bucket, slash, key = unquote(raw.removeprefix("/")).partition("/")
    if not bucket or not slash or not key or bucket.startswith("arn:"):
        raise Unjudged(f"S3 copy source {copy_source!r}: not a bucket's key")
    version = parse_qs(query).get("versionId", [None])[0]
    action = "s3:GetObjectVersion" if version else "s3:GetObject"
    return (action, f"arn:aws:s3:::{bucket}/{key}"), (bucket, key, version)


def _copy_object(
    received: Received, arn: str, copy_source: str, source_tagged: SourceTagged | None
) -> Needed:
    """CopyObject reads its source and writes its target. Its tags: with `x-amz-tagging-directive:
    COPY` (the default) the source's tags are copied, which needs s3:GetObjectTagging on a tagged
    source and s3:PutObjectTagging on the target (AWS Knowledge Center, "s3-troubleshoot-copy-between-
    buckets"); with REPLACE, s3:PutObjectTagging if `x-amz-tagging` sets tags."""
    read, (bucket, key, version) = _read_source(copy_source)
    needed: Needed = [("s3:PutObject", arn), read]
    written = _written_with(received, arn)
    if (received.header("x-amz-tagging-directive") or "COPY").upper() == "COPY":
        written = [each for each in written if each[0] != "s3:PutObjectTagging"]  # COPY ignores x-amz-tagging
        if source_tagged is None or source_tagged(bucket, key, version):
            tagging = "s3:GetObjectVersionTagging" if version else "s3:GetObjectTagging"
            needed += [(tagging, read[1]), ("s3:PutObjectTagging", arn)]
    return needed + written


def _create_bucket(received: Received, arn: str) -> Needed:
    """CreateBucket, and what its headers set as it is made (the S3 page's CreateBucket)."""
    needed: Needed = [("s3:CreateBucket", arn)]
    if any(received.header(name) is not None for name in _ACL_HEADERS):
        needed.append(("s3:PutBucketAcl", arn))
    if (received.header("x-amz-bucket-object-lock-enabled") or "").lower() == "true":
        needed += [("s3:PutBucketObjectLockConfiguration", arn), ("s3:PutBucketVersioning", arn)]
    if received.header("x-amz-object-ownership") is not None:
        needed.append(("s3:PutBucketOwnershipControls", arn))
    return needed


def _post_object(bucket: str, fields: Mapping[str, str] | None) -> Needed:
    """A browser's POST upload: s3:PutObject on the form's `key`, with what its `tagging` and `acl`
    fields set. The fields (names in lower case) come from the caller, which parsed the form."""
    if fields is None:
        raise Unjudged(f"S3 POST /{bucket}: a POST upload is judged with its form's fields")
    key = fields.get("key")
    if not key or "${filename}" in key:
        raise Unjudged(f"S3 POST /{bucket}: the form's key {key!r} names no object")
    arn = f"arn:aws:s3:::{bucket}/{key}"
    needed: Needed = [("s3:PutObject", arn)]
    if "tagging" in fields:
        needed.append(("s3:PutObjectTagging", arn))
    if "acl" in fields:
        needed.append(("s3:PutObjectAcl", arn))
    return needed


def _delete_objects(received: Received, bucket: str) -> Needed:
    """DeleteObjects: s3:DeleteObject (s3:DeleteObjectVersion with a VersionId) on each key. S3 answers
    NoSuchBucket first, and reports a key it may not delete in that key's <Error>, not the request's."""
    try:
        document: Any = xmltodict.parse(received.small_body(), force_list={"Object": True})
        objects = document["Delete"]["Object"]
        keys = [(str(each["Key"] or ""), each.get("VersionId")) for each in objects]
    except Exception:
        raise Unjudged(f"S3 POST /{bucket}?delete: its body lists no keys") from None
    return [
        ("s3:DeleteObjectVersion" if version else "s3:DeleteObject", f"arn:aws:s3:::{bucket}/{key}")
        for key, version in keys
    ]
