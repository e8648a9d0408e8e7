"""Every error a user can meet, each with a message that says how to fix it."""

from __future__ import annotations


class ExhibitQAError(Exception):
    """Base class: the message is shown to the user as is, so it must say what to do."""


class SourceError(ExhibitQAError):
    """An exhibit source cannot be read or numbered."""


class IndexMissingError(ExhibitQAError):
    """No usable index store where one was expected."""


class IndexDamagedError(IndexMissingError):
    """Files of the store are missing or unreadable; a rebuild replaces them."""


def damaged(store: str, what: str) -> IndexDamagedError:
    return IndexDamagedError(
        f"The index in {store} is damaged ({what}). Rebuild it: "
        f"`exhibitqa index data/exhibits --rebuild --store {store}` (give your exhibit folder)."
    )


class IndexStaleError(ExhibitQAError):
    """The store was built with other settings or another embedding model."""


class UnknownParagraphError(ExhibitQAError):
    """A cite or lookup names a paragraph the index does not have."""


class ConfigError(ExhibitQAError):
    """A setting has a value that cannot work."""


def no_index(store: str) -> IndexMissingError:
    return IndexMissingError(
        f"No index found in {store}. Build it with `exhibitqa index data/exhibits --store {store}` "
        "(or `make run`, which builds it for you)."
    )


class GoldError(ExhibitQAError):
    """A gold-set file is malformed or its evidence cannot be found in the index."""
