"""What pairing tells one device about the other (:class:`PeerDevice`).

A dataclass of its own module, loaded only by what pairs or trusts devices: pairing makes
copies of it with fields replaced (``dataclasses.replace``), and the dashboard's first read
and `status`, which load :mod:`._devices` for `is_paired` alone, do without building it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PeerDevice"]


@dataclass(frozen=True)
class PeerDevice:
    """What pairing tells one device about the other."""

    device_id: str
    sign_pk: bytes
    box_pk: bytes
    person: str
    person_name: str
    device_name: str
