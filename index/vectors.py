"""Where an index generation keeps its vectors: the store's own ``chroma/`` or a Chroma server.

With ``EXHIBITQA_CHROMA_URL`` set, each generation writes its own collection on the server
(``exhibitqa-<generation>``) and the manifest names it, so a half-built generation is never
read and the previous collection is dropped only after the swap.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from qa.errors import ConfigError

LOCAL_COLLECTION = "exhibitqa"


@dataclass(frozen=True)
class VectorHome:
    """A Chroma collection and where it lives (a server URL, or the store directory)."""

    collection: str
    url: str | None = None

    @classmethod
    def new(cls, url: str | None) -> VectorHome:
        return cls(f"exhibitqa-{uuid.uuid4().hex[:12]}" if url else LOCAL_COLLECTION, url)

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> VectorHome:
        v = manifest.get("vectors") or {}
        return cls(v.get("collection", LOCAL_COLLECTION), v.get("url"))

    def to_json(self) -> dict[str, Any]:
        return {"collection": self.collection, "url": self.url}

    def client(self, store: Path) -> Any:
        """A Chroma client for this home; a server that does not answer is a clear error."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.url is None:
            return chromadb.PersistentClient(path=str(store / "chroma"), settings=chroma_settings)
        u = urlparse(self.url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ConfigError(f"EXHIBITQA_CHROMA_URL={self.url!r} is not an http(s)://host:port URL.")
        try:
            client = chromadb.HttpClient(
                host=u.hostname,
                port=u.port or (443 if u.scheme == "https" else 80),
                ssl=u.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as e:  # connection refused, DNS, TLS: all mean the same to the user
            raise ConfigError(
                f"Cannot reach the Chroma server at {self.url} ({e.__class__.__name__}). Start it "
                "(`chroma run --path DIR --port PORT`) or unset EXHIBITQA_CHROMA_URL to use the local store."
            ) from e
        return client

    def drop(self, store: Path) -> None:
        """Delete a server collection (local collections go with their directory)."""
        if self.url is None:
            return
        try:
            client = self.client(store)
            client.delete_collection(self.collection)
        except Exception:  # best effort: an orphaned collection wastes space, nothing more
            pass
