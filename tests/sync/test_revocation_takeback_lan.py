"""A revocation's cut-off over a real LAN sync between two `comentor` processes: the partner
that holds what the revoked device made past it takes it back, and says so."""

from __future__ import annotations

from pathlib import Path

from comentor.model import _devices as devices
from comentor.model import testing
from comentor.model._journal import Journal

from .test_sync_lan import Serve, digests, run


def _journals(tmp_path: Path) -> tuple[Path, Path]:
    """Ada's desk and Ben, paired; Ada's laptop, paired with the desk, wrote a goal everyone
    holds, then one only Ben received before the desk revoked the laptop."""
    ada = Journal.create(tmp_path / "ada.db", "Ada")
    ben = Journal.create(tmp_path / "ben.db", "Ben", joining=True)
    testing.pair_in_process(ada, ben)
    laptop = Journal.create(tmp_path / "laptop.db", "Ada", joining=True, person=ada.me,
                            device_name="laptop")
    devices.set_partnership_key(laptop, ada.partnership_key() or b"")
    devices.trust_device(laptop, devices.my_device_info(ada))
    devices.trust_device(ada, devices.my_device_info(laptop))
    laptop.put("goals", None, text="written before the laptop was lost")
    testing.sync_in_process(ada, laptop)
    testing.sync_in_process(ada, ben)
    laptop.put("goals", None, text="only Ben received this")
    testing.sync_in_process(laptop, ben)
    devices.revoke_device(ada, laptop.device_id)
    for j in (ada, ben, laptop):
        j.close()
    return tmp_path / "ada.db", tmp_path / "ben.db"


def _goals(path: Path) -> list[str]:
    j = Journal.open(path)
    try:
        return sorted(str(g["text"]) for g in j.rows("goals"))
    finally:
        j.close()


def test_a_lan_sync_takes_back_what_is_past_the_cut_off(tmp_path: Path) -> None:
    ada, ben = _journals(tmp_path)
    assert "only Ben received this" in _goals(ben)
    serve = Serve(ada, "--no-discovery")
    try:
        done = run("--journal", str(ben), "sync", "--peer", f"127.0.0.1:{serve.port}",
                   "--once")
    finally:
        serve.stop()
    assert done.returncode == 0, done.stderr
    assert "took back 1 change(s) a removed device made" in done.stdout, done.stdout
    assert _goals(ben) == _goals(ada) == ["written before the laptop was lost"]
    first, second = digests(ada, ben)
    assert first == second
