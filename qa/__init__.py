"""ExhibitQA: ask questions of a legal record, get answers with verified pin cites.

>>> from qa import ask
>>> ask("What did the State Council decide about steel capacity?")
"""

from qa.api import ask, reset
from qa.settings import Settings
from qa.types import Answer, Citation, Exhibit, Paragraph, Passage

__all__ = ["Answer", "Citation", "Exhibit", "Paragraph", "Passage", "Settings", "ask", "reset"]
