"""A host's account of the bytes its applications sent and received: counts and MD5 digests.

At the end of a run the question "did every byte arrive intact?" is answered by comparing
the MD5 of what one application handed to ``send()`` with the MD5 of what the other one
received, in order.  The ledger keeps those digests as the bytes go by — per peer and for
the whole host — so the bytes themselves never have to be kept.
"""

from __future__ import annotations

import hashlib

from .payload import Data, Payload


def _md5():  # noqa: ANN202 - hashlib's type is private
    return hashlib.md5()


_EMPTY = hashlib.md5(b"").hexdigest()


class ByteLedger:
    """Running MD5s of the bytes one host's applications sent and had delivered.

    Digests exist only once bytes flow.  With a single peer the host's digest *is* that
    peer's; a second peer gets the host-wide digest split off (a copy of the first peer's),
    so the common two-party run hashes each byte once per direction.
    """

    __slots__ = ("sent_to", "delivered_from", "_sent_all", "_delivered_all")

    def __init__(self) -> None:
        self.sent_to: dict[str, object] = {}  # peer -> MD5 of what was sent to it
        self.delivered_from: dict[str, object] = {}  # peer -> MD5 of what came from it
        self._sent_all: object | None = None  # host-wide, once there are two peers
        self._delivered_all: object | None = None

    @staticmethod
    def _account(per_peer: dict[str, object], everything: object | None, peer: str, chunks) -> object | None:  # noqa: ANN001
        digest = per_peer.get(peer)
        if digest is None:
            if per_peer and everything is None:  # a second peer: split the host-wide digest off
                everything = next(iter(per_peer.values())).copy()  # type: ignore[attr-defined]
            digest = per_peer[peer] = hashlib.md5()
        for chunk in chunks:
            digest.update(chunk)  # type: ignore[attr-defined]
            if everything is not None:
                everything.update(chunk)  # type: ignore[attr-defined]
        return everything

    def sent(self, peer: str, data: Data) -> None:
        """The application handed ``data`` to ``send()`` on its connection with ``peer``."""
        if len(data):
            chunks = data.chunks() if isinstance(data, Payload) else (data,)
            self._sent_all = self._account(self.sent_to, self._sent_all, peer, chunks)

    def delivered(self, peer: str, data: bytes) -> None:
        """``data`` from ``peer`` was delivered in order to the application."""
        self._delivered_all = self._account(self.delivered_from, self._delivered_all, peer, (data,))

    def digest_sent(self) -> str:
        """Hex MD5 of everything the host's applications sent (in send() order)."""
        return _hex(self._sent_all, self.sent_to)

    def digest_delivered(self) -> str:
        """Hex MD5 of everything delivered to the host's applications (in delivery order)."""
        return _hex(self._delivered_all, self.delivered_from)

    def digest_sent_to(self, peer: str) -> str:
        """Hex MD5 of everything sent to ``peer`` (of nothing, if nothing was)."""
        digest = self.sent_to.get(peer)
        return digest.hexdigest() if digest is not None else _EMPTY  # type: ignore[attr-defined]

    def digest_delivered_from(self, peer: str) -> str:
        """Hex MD5 of everything delivered from ``peer``."""
        digest = self.delivered_from.get(peer)
        return digest.hexdigest() if digest is not None else _EMPTY  # type: ignore[attr-defined]


def _hex(everything: object | None, per_peer: dict[str, object]) -> str:
    if everything is not None:
        return everything.hexdigest()  # type: ignore[attr-defined]
    if per_peer:
        return next(iter(per_peer.values())).hexdigest()  # type: ignore[attr-defined]
    return _EMPTY
