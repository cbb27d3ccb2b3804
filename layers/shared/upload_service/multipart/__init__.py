"""Large uploads through Uppy's Companion S3 routes: a multipart upload behind a token, started,
signed part by part, listed, completed or aborted, and the wire shapes Companion answers in."""
