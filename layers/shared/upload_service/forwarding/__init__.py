"""Forwarding an accepted upload to the video platform: the lease and resume of one upload, the
platform fed from the bucket, and api.video's client (`apivideo`)."""
