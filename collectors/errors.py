"""The collectors' own exceptions. A bad record is data (a dead letter); these are for inputs
that cannot be read at all, and for mappings that say something impossible."""


class UnreadableSource(Exception):
    """A file or body that cannot be read at all; the message names it and says why.
    Retrying does not help until the input (or the mapping applied to it) changes."""

    status = 422


class MappingError(Exception):
    """A mapping file that is not valid; the message names the file, the key and what is accepted."""

    status = 400


class BadRequest(Exception):
    """An OTLP request body that does not decode. Carries its HTTP status for the receiver."""

    status = 400
