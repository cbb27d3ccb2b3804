"""The whole upload flow against the running local stack (`make dev`), as a frontend does it:
sign in, mint a token, start an upload, send the file with the presigned POST, see it accepted.

    .venv/bin/python examples/upload_flow.py [path/to/file.mp4]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import boto3
import requests

stack = json.loads(Path(".local/stack.json").read_text())
api = stack["apiUrl"]
alice = next(user for user in stack["users"] if user["username"] == "alice")

# 1. sign in (Cognito USER_PASSWORD_AUTH, exactly as against AWS)
cognito = boto3.client(
    "cognito-idp",
    endpoint_url=stack["awsEndpoint"],
    region_name=stack["region"],
    aws_access_key_id="local",
    aws_secret_access_key="local",
)
auth = cognito.initiate_auth(
    ClientId=stack["userPoolClientId"],
    AuthFlow="USER_PASSWORD_AUTH",
    AuthParameters={"USERNAME": alice["username"], "PASSWORD": alice["password"]},
)
headers = {"Authorization": f"Bearer {auth['AuthenticationResult']['IdToken']}"}

# 2. mint a delegated upload token (the backend part: a frontend may hand it to anyone)
token = requests.post(f"{api}/upload-tokens", json={"ttl": 900}, headers=headers, timeout=10).json()["token"]
print("token      ", token[:6] + "…")

# 3. whoever holds the token starts an upload: no JWT, the token is the credential
path = Path(sys.argv[1]) if len(sys.argv) > 1 else None
content = path.read_bytes() if path else b"\x00\x00\x00\x18ftypmp42 a tiny demo video"
declared = {
    "fileName": path.name if path else "demo.mp4",
    "fileSize": len(content),
    "contentType": "video/mp4",
}
target = requests.post(f"{api}/upload", params={"token": token}, json=declared, timeout=10).json()
print("upload id  ", target["uploadId"], "expires", target["expiresAt"])

# 4. send the file: multipart/form-data POST of the fields, then the file, straight to S3
sent = requests.post(
    target["url"], data=target["fields"], files={"file": (declared["fileName"], content)}, timeout=60
)
sent.raise_for_status()
started = time.monotonic()

# 5. S3 -> SQS -> process-upload decides; the token's owner sees the result
while True:
    view = requests.get(f"{api}/upload-tokens/{token}", headers=headers, timeout=10).json()
    upload = next(u for u in view["uploads"] if u["uploadId"] == target["uploadId"])
    if upload["status"] != "PENDING" or time.monotonic() - started > 30:
        break
    time.sleep(0.1)
print("decision   ", upload["status"], upload["reason"] or "", f"after {time.monotonic() - started:.2f} s")
print("token now  ", view["status"])
