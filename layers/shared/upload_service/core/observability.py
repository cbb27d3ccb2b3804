"""The Logger and Metrics instances every function shares.

No Powertools Tracer: constructing it loads the X-Ray SDK (about 90 ms of every cold start here,
and a second botocore in the layer). Lambda's active tracing (template Globals) still records each
invocation; what we give up are per-AWS-call subsegments.
"""

import json
import re
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from upload_service.core.ids import mask

# Routes that publish no metric of their own still publish ColdStart; the warning is noise.
warnings.filterwarnings("ignore", message="No application metrics to publish")

#: Anything shaped like an upload token, standing alone in a text.
_TOKEN_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])to[0-9A-Za-z]{22}(?![0-9A-Za-z])")


def redacted_json(record: dict[str, Any]) -> str:
    """A log record as JSON, anything shaped like an upload token masked: the code logs only masked
    tokens, and this keeps one from slipping in through an exception's message or traceback."""
    line = json.dumps(record, default=str, separators=(",", ":"), ensure_ascii=False)
    return _TOKEN_IN_TEXT.sub(lambda found: mask(found.group()), line)


logger = Logger(json_serializer=redacted_json)
metrics = Metrics()
