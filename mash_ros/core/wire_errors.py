"""The one exception type of the wire codecs (kept apart so every codec module can raise it)."""
from __future__ import annotations


class WireFormatError(ValueError):
    """A message payload is malformed: wrong size, unknown encoding, non-finite or absurd.

    ``kind`` names the check that failed ("payload size", "encoding", ...) without the values
    that failed it: nodes count and log drops per kind, so the set of kinds must stay small
    whatever a sender puts in its messages (the message text carries the values).
    """

    def __init__(self, message: str, kind: str = "malformed"):
        super().__init__(message)
        self.kind = kind
