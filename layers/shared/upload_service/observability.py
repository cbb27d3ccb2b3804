"""The Logger, Tracer and Metrics instances every function shares."""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Routes that publish no metric of their own still publish ColdStart; the warning is noise.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
tracer = Tracer()
metrics = Metrics()
