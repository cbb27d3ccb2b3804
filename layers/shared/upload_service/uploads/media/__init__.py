"""Structural checks of landed media files (ISO BMFF, Matroska/WebM, JPEG, PNG): bounded ranged reads,
a verdict and the media's facts. Only the processor and the cleanup load it."""
