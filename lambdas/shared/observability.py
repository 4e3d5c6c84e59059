"""Logger, Tracer and Metrics: created once here and imported by every function.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE; the log level from Lambda's JSON logging settings.

The Tracer patches botocore only. Its default (`patch_all`) also imports and patches sqlite3,
pg8000, psycopg2 and tries a dozen other drivers at every cold start: none is used here, and
botocore was the only library of ours it ever traced (it does not patch httplib by default), so
the AWS calls keep their X-Ray subsegments and the cold start drops the rest.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

TRACED_MODULES = ("botocore",)

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()
