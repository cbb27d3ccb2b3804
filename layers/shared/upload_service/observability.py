"""The Logger and Metrics instances every function shares.

No Powertools Tracer: constructing it loads the X-Ray SDK (about 90 ms of every cold start here,
and a second botocore in the layer). Lambda's active tracing (template Globals) still records each
invocation; what we give up are per-AWS-call subsegments.
"""

import warnings

from aws_lambda_powertools import Logger, Metrics

# Routes that publish no metric of their own still publish ColdStart; the warning is noise.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
metrics = Metrics()
