"""`comentor devices`: whom this journal trusts, and taking trust back from a lost device.

`comentor devices` lists every device of the partnership (this one, your other devices and
your partner's), with its safety number and whether it is trusted or revoked, and says so
first when this device itself was removed from the partnership. `comentor devices rename ID
NAME` renames one of your own devices. `comentor devices revoke
ID` revokes a lost or stolen device (any unambiguous prefix of its id): its changes are
refused everywhere from then on, the partnership key is rotated away from it, and the next
time it syncs it is told it was removed.
"""

from __future__ import annotations

import argparse
from typing import Any

from comentor import model as m
from comentor.model.errors import NotFoundError, ValidationError

from ..text import one_line
from .common import open_journal, out

__all__ = ["add_parsers", "HANDLERS"]


def add_parsers(sub: Any) -> None:
    """Add `devices` to the top-level subparsers."""
    s = sub.add_parser("devices", help="the partnership's devices; rename yours, revoke a lost one")
    s.add_argument("--json", action="store_true")
    dsub = s.add_subparsers(dest="action", metavar="ACTION")
    t = dsub.add_parser("list", help="list the devices (the default)")
    t.add_argument("--json", action="store_true")
    t = dsub.add_parser("rename", help="give one of your devices a new name")
    t.add_argument("id", metavar="ID", help="the device's id (or an unambiguous prefix)")
    t.add_argument("name", metavar="NAME", nargs="+", help="its new name")
    t = dsub.add_parser("revoke", help="revoke a lost or stolen device")
    t.add_argument("id", metavar="ID", help="the device's id (or an unambiguous prefix)")
    t.add_argument("--with-added", action="store_true",
                   help="also revoke every device that device added (a thief may have "
                        "paired one of their own with a stolen device)")


def _state(d: dict[str, Any]) -> str:
    if d.get("revoked_at"):
        return f"revoked {str(d['revoked_at'])[:10]}"
    return "this device" if d["this_device"] else "trusted"


def _find(found: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    key = wanted.strip().lower()
    hits = [d for d in found if str(d["id"]).startswith(key)] if key else []
    if not hits:
        raise NotFoundError(f"no device with id {wanted!r} (see `comentor devices`)")
    if len(hits) > 1:
        raise ValidationError(f"{wanted!r} matches {len(hits)} devices: give more of the id")
    return hits[0]


_PUBLIC = ("id", "name", "owner", "person", "added_at", "added_by", "added_by_name",
           "revoked_at", "this_device", "last_of_owner")


def _origin(d: dict[str, Any]) -> str:
    """When and by which device it was added: what tells a device a thief paired apart."""
    when = f"added {str(d['added_at'])[:10]}" if d.get("added_at") else "added"
    if d.get("added_by"):
        return (f"{when} by {str(d['added_by'])[:12]} "
                f"({one_line(d.get('added_by_name') or 'device')})")
    return f"{when}, started the journal" if d.get("added_at") else ""


def _revoke(j: Any, d: dict[str, Any]) -> None:
    """Revoke one device and say what changed (and that it was its owner's last)."""
    last = bool(d["last_of_owner"])
    m.revoke_device(j, str(d["id"]))
    owner = one_line(d["owner"])
    print(f"revoked {one_line(d.get('name') or 'the device')} ({owner}, "
          f"{str(d['id'])[:12]}): its changes are refused from now on, and the "
          "partnership key was changed; it is told when it next syncs")
    if last:
        print(f"note: that was {owner}'s last device: {owner} can sync with this "
              "journal again only by pairing anew (`comentor invite`, then "
              "`comentor join` on their side)")


def _cmd_revoke(j: Any, args: argparse.Namespace) -> int:
    """Revoke a device, then name the devices it added: a stolen device may have paired
    one of the thief's, which stays trusted (and gets the new key) until revoked too.
    Those are revoked only when asked (`--with-added`): one may be the owner's own."""
    d = _find(m.list_devices(j), args.id)
    _revoke(j, d)
    for x in _added(j, str(d["id"])):
        if args.with_added:  # read again: the last revocation may make this one the last
            _revoke(j, next(y for y in _added(j, str(d["id"])) if y["id"] == x["id"]))
            continue
        print(f"it added {one_line(x.get('name') or 'a device')} ({one_line(x['owner'])}, "
              f"{str(x['id'])[:12]}) on {str(x.get('added_at') or '?')[:10]}, still trusted: "
              "if you did not add it yourself, revoke it too: "
              f"comentor devices revoke {str(x['id'])[:12]}")
    return 0


def _added(j: Any, device: str) -> list[dict[str, Any]]:
    """The devices `device` added that are still trusted (this one aside: it cannot be
    revoked from itself)."""
    return [x for x in m.list_devices(j) if x.get("added_by") == device
            and not x.get("revoked_at") and not x["this_device"]]


def _public(d: dict[str, Any]) -> dict[str, Any]:
    """A device as `devices --json` gives it: what a script can act on, not the journal's
    bookkeeping (clocks, the revocation's cut-off); a safety number only for another
    device (one's own compared with itself means nothing)."""
    shown = {k: d.get(k) for k in _PUBLIC}
    shown["safety_number"] = None if d.get("this_device") else d.get("safety_number")
    return shown


def cmd_devices(args: argparse.Namespace) -> int:
    with open_journal(args) as j:
        if getattr(args, "action", None) == "revoke":
            return _cmd_revoke(j, args)
        if getattr(args, "action", None) == "rename":
            d = _find(m.list_devices(j), args.id)
            name = m.rename_device(j, str(d["id"]), " ".join(args.name))
            if name == d.get("name"):
                print(f"{str(d['id'])[:12]} is already called “{one_line(name)}”: nothing changed")
            else:
                seen = (": your partner sees the new name after your next sync"
                        if m.is_paired(j) else "")
                print(f"renamed {str(d['id'])[:12]} to “{one_line(name)}”{seen}")
            return 0
        found = m.list_devices(j)
        gone = m.device_removal(j)
        if args.json:
            out({"removed": {"at": gone.at, "by": gone.by} if gone else None,
                 "devices": [_public(d) for d in found]})
            return 0
        if gone is not None:
            print(one_line(gone.notice()))
        for d in found:
            mark = "▶" if d["this_device"] else " "
            safety = "" if d["this_device"] else f"  safety {d['safety_number']}"
            print(f"{mark} {str(d['id'])[:12]}  {one_line(d['owner'])}  "
                  f"{one_line(d.get('name') or 'device')}  {_state(d)}  {_origin(d)}{safety}")
    return 0


HANDLERS: dict[str, Any] = {"devices": cmd_devices}
