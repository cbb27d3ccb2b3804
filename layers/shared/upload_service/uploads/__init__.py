"""One upload's life: starting it (a presigned POST under the file rules), the S3 notification of
what landed, the landing decision with its content check, the delivery into media/, and what the
cleanup settles when an upload runs out or is left unfinished."""
