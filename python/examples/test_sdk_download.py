"""The official vSphere Automation SDK for Python against dlsim, through the pytest plugin.

Run with ``pytest --dlsim-verify python/examples``: besides each test's own assertions,
dlsim then checks over its journal that the client behaved (deleted its sessions, logged
out, stopped polling a file in ERROR, verified the checksum, finished cut downloads...).
"""

from __future__ import annotations

import pytest

import dlsim
from careful_client import DownloadFailed, download_item

OVF = "photon-5-ovf"
MODES = ["json", "rest"]  # the SDK's JSON-RPC (its default) and its 'rest' profile


def sdk_url(server: dlsim.Server, mode: str) -> str:
    return server.api_url if mode == "json" else server.sdk_rest_url


def ops(server: dlsim.Server, op: str):
    return [e for e in server.journal() if e.get("op") == op]


@pytest.mark.parametrize("mode", MODES)
def test_whole_download(dlsim_server: dlsim.Server, tmp_path, mode):
    item = dlsim_server.item(OVF)
    got = download_item(
        sdk_url(dlsim_server, mode),
        dlsim_server.user,
        dlsim_server.password,
        item.id,
        tmp_path,
        mode=mode,
    )
    assert got == {f.name: f.size for f in item.files}
    assert len(ops(dlsim_server, "content.download")) == len(item.files)
    assert dlsim_server.verify()["passed"]


@pytest.mark.dlsim_scenario("prepare-error")
@pytest.mark.parametrize("mode", MODES)
def test_prepare_error_fails_the_session(dlsim_server: dlsim.Server, tmp_path, mode):
    with pytest.raises(DownloadFailed, match=r"photon-5-disk1.vmdk failed to prepare.*IO error"):
        download_item(
            sdk_url(dlsim_server, mode),
            dlsim_server.user,
            dlsim_server.password,
            dlsim_server.item(OVF).id,
            tmp_path,
            mode=mode,
        )
    # A well-behaved client stops polling the broken file, fails the session, deletes it.
    assert len(ops(dlsim_server, "download_session.fail")) == 1
    assert len(ops(dlsim_server, "download_session.delete")) == 1
    assert not (tmp_path / "photon-5-disk1.vmdk").exists()
    dlsim_server.verify()


@pytest.mark.dlsim_scenario("truncated-transfer")
@pytest.mark.parametrize("mode", MODES)
def test_a_cut_download_is_resumed(dlsim_server: dlsim.Server, tmp_path, mode):
    item = dlsim_server.item(OVF)
    got = download_item(
        sdk_url(dlsim_server, mode),
        dlsim_server.user,
        dlsim_server.password,
        item.id,
        tmp_path,
        mode=mode,
    )
    assert got["photon-5.ovf"] == item.files[0].size
    ovf_downloads = [e for e in ops(dlsim_server, "content.download") if e["file"] == "photon-5.ovf"]
    # The first stopped after 4 KiB; the second asked for the rest with Range.
    assert len(ovf_downloads) == 2, ovf_downloads
    assert ovf_downloads[0]["bytes"] == 4096
    assert ovf_downloads[1]["range"] == [4096, item.files[0].size], ovf_downloads[1]
    dlsim_server.verify()


@pytest.mark.dlsim_scenario("checksum-mismatch")
@pytest.mark.parametrize("mode", MODES)
def test_a_checksum_mismatch_fails_the_session(dlsim_server: dlsim.Server, tmp_path, mode):
    with pytest.raises(DownloadFailed, match="photon-5.ovf: checksum mismatch"):
        download_item(
            sdk_url(dlsim_server, mode),
            dlsim_server.user,
            dlsim_server.password,
            dlsim_server.item(OVF).id,
            tmp_path,
            mode=mode,
        )
    # It stopped at the first bad file and failed the session instead of going on.
    assert [e["file"] for e in ops(dlsim_server, "content.download")] == ["photon-5.ovf"]
    assert len(ops(dlsim_server, "download_session.fail")) == 1
    dlsim_server.verify()
