"""The whole upload flow against the running local stack (`make dev`), as a frontend does it:
sign in, mint a token, start an upload, send the file with the presigned POST, see it accepted.

    .venv/bin/python examples/upload_flow.py [path/to/file.mp4]

The stack's URLs and demo users come from `.local/stack.json`, which `make dev` writes. Exits 1 unless
the upload is ACCEPTED: this is the README's quickstart, run by tests/e2e/test_quickstart.py.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import boto3
import requests
from botocore import UNSIGNED
from botocore.config import Config


def demo_mp4() -> bytes:
    """A real half-second MP4 (2.5 KB, made with FFmpeg): the landing checks its whole structure."""
    return (
        Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "content" / "clip.mp4"
    ).read_bytes()


def show(label: str, value: str) -> None:
    print(f"{label:<12}{value}", flush=True)


stack = json.loads(Path(".local/stack.json").read_text())
api = stack["apiUrl"]
alice = next(user for user in stack["users"] if user["username"] == "alice")

# 1. sign in (Cognito USER_PASSWORD_AUTH, exactly as against AWS: a frontend has no AWS credentials,
#    and InitiateAuth needs none)
cognito = boto3.client(
    "cognito-idp",
    endpoint_url=stack["awsEndpoint"],
    region_name=stack["region"],
    config=Config(signature_version=UNSIGNED),
)
auth = cognito.initiate_auth(
    ClientId=stack["userPoolClientId"],
    AuthFlow="USER_PASSWORD_AUTH",
    AuthParameters={"USERNAME": alice["username"], "PASSWORD": alice["password"]},
)
headers = {"Authorization": f"Bearer {auth['AuthenticationResult']['IdToken']}"}
show("signed in", alice["username"])

# 2. mint a delegated upload token (the backend part: a frontend may hand it to anyone)
minted = requests.post(f"{api}/upload-tokens", json={"ttl": 900}, headers=headers, timeout=10)
minted.raise_for_status()
token = minted.json()["token"]
show("token", token[:6] + "…")

# 3. whoever holds the token starts an upload: no JWT, the token is the credential
path = Path(sys.argv[1]) if len(sys.argv) > 1 else None
content = path.read_bytes() if path else demo_mp4()
file_name = path.name if path else "demo.mp4"
declared = {"fileName": file_name, "fileSize": len(content), "contentType": "video/mp4"}
started_upload = requests.post(f"{api}/upload", params={"token": token}, json=declared, timeout=10)
started_upload.raise_for_status()
target = started_upload.json()
show("upload id", f"{target['uploadId']} expires {target['expiresAt']}")

# 4. send the file: multipart/form-data POST of the fields, then the file, straight to S3
sent = requests.post(target["url"], data=target["fields"], files={"file": (file_name, content)}, timeout=60)
sent.raise_for_status()
started = time.monotonic()

# 5. S3 -> SQS -> process-upload decides; the token's owner sees the result
while True:
    view = requests.get(f"{api}/upload-tokens/{token}", headers=headers, timeout=10).json()
    upload = next(u for u in view["uploads"] if u["uploadId"] == target["uploadId"])
    if upload["status"] != "PENDING" or time.monotonic() - started > 30:
        break
    time.sleep(0.1)
waited = f"after {time.monotonic() - started:.2f} s"
show("decision", " ".join(part for part in (upload["status"], upload["reason"], waited) if part))
show("token now", view["status"])

# 6. where the deployment forwards (make dev does, to its api.video double), the upload goes on
while upload["status"] == "ACCEPTED" and upload.get("forwarding"):
    forwarding = upload["forwarding"]
    if forwarding["status"] in ("FORWARDED", "FAILED") or time.monotonic() - started > 60:
        show(
            "api.video",
            f"{forwarding['status']} {forwarding['videoId'] or forwarding['error'] or ''}".strip(),
        )
        break
    time.sleep(0.1)
    view = requests.get(f"{api}/upload-tokens/{token}", headers=headers, timeout=10).json()
    upload = next(u for u in view["uploads"] if u["uploadId"] == target["uploadId"])
sys.exit(0 if upload["status"] == "ACCEPTED" else 1)
