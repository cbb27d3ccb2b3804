"""What every feature stands on: settings, AWS clients and the bucket, ids, the stored records and the
wire models, domain errors, logging and metrics, EventBridge events, outbound HTTP. Imports nothing
of the features."""
