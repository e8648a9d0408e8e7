"""Every error a user can meet, each with a message that says how to fix it.

``exit_code`` is what the ``exhibitqa`` command exits with: 2 for a usage error (what was typed
cannot work: an unknown exhibit, mode or paragraph, an empty question, unreadable input
files), 1 for a failure of what it runs on (no index, a damaged one, a server that does not
answer, a disk it cannot write), as grep and git do.
"""

from __future__ import annotations


class ExhibitQAError(Exception):
    """Base class: the message is shown to the user as is, so it must say what to do."""

    exit_code = 1


class SourceError(ExhibitQAError):
    """An exhibit source cannot be read or numbered."""

    exit_code = 2


class IndexMissingError(ExhibitQAError):
    """No usable index store where one was expected."""


class IndexDamagedError(IndexMissingError):
    """Files of the store are missing or unreadable; a rebuild replaces them."""


def damaged(store: str, what: str) -> IndexDamagedError:
    return IndexDamagedError(
        f"The index in {store} is damaged ({what}). Rebuild it: "
        f"`exhibitqa index data/exhibits --rebuild --store {store}` (give your exhibit folder)."
    )


class IndexReadError(ExhibitQAError):
    """Chroma failed to read a store whose files on disk check out."""


class IndexStaleError(ExhibitQAError):
    """The store was built with other settings or another embedding model."""


class UnknownParagraphError(ExhibitQAError):
    """A cite or lookup names a paragraph the index does not have."""

    exit_code = 2


class ConfigError(ExhibitQAError):
    """A setting has a value that cannot work."""


class UsageError(ConfigError):
    """What the user asked for names something that does not exist (an exhibit, a mode)."""

    exit_code = 2


def no_index(store: str) -> IndexMissingError:
    return IndexMissingError(
        f"No index found in {store}. Build it with `exhibitqa index data/exhibits --store {store}` "
        "(or `make run`, which builds it for you)."
    )


class GoldError(ExhibitQAError):
    """A gold-set file is malformed or its evidence cannot be found in the index."""

    exit_code = 2
