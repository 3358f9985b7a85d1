"""A host's account of the bytes its applications sent and received: counts and MD5 digests.

At the end of a run the question "did every byte arrive intact?" is answered by comparing
the MD5 of what one application handed to ``send()`` with the MD5 of what the other one
received, in order.  The ledger keeps those digests as the bytes go by — per peer and for
the whole host — so the bytes themselves never have to be kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .payload import Data, Payload


def _md5():  # noqa: ANN202 - hashlib's type is private
    return hashlib.md5()


@dataclass
class ByteLedger:
    """Running MD5s of the bytes one host's applications sent and had delivered."""

    sent_md5: object = field(default_factory=_md5)  # everything sent, in send() order
    delivered_md5: object = field(default_factory=_md5)  # everything delivered, in delivery order
    sent_to: dict[str, object] = field(default_factory=dict)  # peer -> MD5 of what was sent to it
    delivered_from: dict[str, object] = field(default_factory=dict)  # peer -> MD5 of what came from it

    def sent(self, peer: str, data: Data) -> None:
        """The application handed ``data`` to ``send()`` on its connection with ``peer``."""
        per_peer = self.sent_to.get(peer)
        if per_peer is None:
            per_peer = self.sent_to[peer] = _md5()
        chunks = data.chunks() if isinstance(data, Payload) else (data,)
        for chunk in chunks:
            self.sent_md5.update(chunk)  # type: ignore[attr-defined]
            per_peer.update(chunk)  # type: ignore[attr-defined]

    def delivered(self, peer: str, data: bytes) -> None:
        """``data`` from ``peer`` was delivered in order to the application."""
        per_peer = self.delivered_from.get(peer)
        if per_peer is None:
            per_peer = self.delivered_from[peer] = _md5()
        self.delivered_md5.update(data)  # type: ignore[attr-defined]
        per_peer.update(data)  # type: ignore[attr-defined]

    def digest_sent(self) -> str:
        """Hex MD5 of everything the host's applications sent."""
        return self.sent_md5.hexdigest()  # type: ignore[attr-defined]

    def digest_delivered(self) -> str:
        """Hex MD5 of everything delivered to the host's applications."""
        return self.delivered_md5.hexdigest()  # type: ignore[attr-defined]

    def digest_sent_to(self, peer: str) -> str:
        """Hex MD5 of everything sent to ``peer`` (of nothing, if nothing was)."""
        return (self.sent_to.get(peer) or _md5()).hexdigest()  # type: ignore[attr-defined]

    def digest_delivered_from(self, peer: str) -> str:
        """Hex MD5 of everything delivered from ``peer``."""
        return (self.delivered_from.get(peer) or _md5()).hexdigest()  # type: ignore[attr-defined]
