"""The local stack: template.yaml run on an embedded AWS emulator, with no account and no Docker."""
