"""Tests of the dlsim Python package and its pytest plugin, run against the installed wheel."""

from __future__ import annotations

import json
import urllib.request

import pytest

import dlsim

# A client of /api written with the standard library only, pasted into pytester's test files:
# it logs in, creates a download session and, unless told to leak it, deletes it and logs out.
CLIENT = '''
import base64, json, urllib.request

def call(server, method, path, body=None, token=None, auth=None):
    req = urllib.request.Request(server.api_url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("vmware-api-session-id", token)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req) as r:
        raw = r.read()
        return json.loads(raw) if raw else None

def use_a_session(server, leak):
    token = call(server, "POST", "/session", auth=server.user + ":" + server.password)
    sid = call(server, "POST", "/content/library/item/download-session",
               {"library_item_id": server.item_id}, token)
    if not leak:
        call(server, "DELETE", "/content/library/item/download-session/" + sid, token=token)
        call(server, "DELETE", "/session", token=token)
    return sid
'''


def test_a_server_starts_on_a_free_loopback_port_with_the_demo_library():
    with dlsim.Server() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.api_url == server.url + "/api"
        assert server.control_url == server.url + "/dlsim/"
        assert server.user == "administrator@vsphere.local"
        assert server.password == "VMware1!"
        assert server.thumbprint is None and server.ca_file is None
        assert server.item_id == "b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b"
        ovf = server.item("photon-5-ovf")
        assert [f.name for f in ovf.files] == ["photon-5.ovf", "photon-5.mf", "photon-5-disk1.vmdk"]
        assert ovf.files[2].size == 1 << 30
        assert server.library_id == server.libraries[0].id
        with pytest.raises(KeyError, match="photon-5-ovf"):
            server.item("no-such-item")
        assert server.version
        assert server.clock()["virtual"] is True
        assert server.running
    assert not server.running
    assert server.stop() == 0  # graceful, and again does nothing


def test_the_control_plane_wrappers_drive_the_server():
    with dlsim.Server() as server:
        before = server.clock()["now"]
        after = server.advance_clock(301)
        assert after > before
        fid = server.add_fault({"kind": "http_error", "status": 503}, when={"op": "download_session.create"}, times=1)
        assert [f["id"] for f in server.faults()] == [fid]
        server.remove_fault(fid)
        assert server.faults() == []
        ids = server.add_faults([{"what": {"kind": "wrong_checksum"}}, {"what": {"kind": "expire_now"}}])
        assert len(ids) == 2 and len(server.faults()) == 2
        server.clear_faults()
        assert server.faults() == []
        assert "prepare-error" in server.scenarios()
        assert server.load_scenario("prepare-error")
        assert server.faults()[0]["fault"]["what"]["kind"] == "prepare_error"
        # A GET on the API lands in the journal.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with pytest.raises(urllib.error.HTTPError):
            opener.open(server.api_url + "/content/library")  # no login: 401, journaled
        entries = server.journal()
        assert entries and entries[-1]["status"] == 401
        assert server.journal(since=entries[-1]["seq"]) == []
        server.reset()
        assert server.faults() == [] and server.journal() == []
        assert server.clock()["now"] == before


def test_control_plane_refusals_and_bad_scenarios_raise_with_the_servers_message(tmp_path):
    with dlsim.Server() as server:
        with pytest.raises(dlsim.DlsimError, match="no scenario .*no-such.*on the shelf"):
            server.load_scenario("no-such")
        with pytest.raises(dlsim.DlsimError, match="400.*kind"):
            server.add_fault({"kind": "no_such_kind"})
    with dlsim.Server(virtual_clock=False) as real:
        with pytest.raises(dlsim.DlsimError, match="409.*--virtual-clock"):
            real.advance_clock(1)
    bad = tmp_path / "bad.toml"
    bad.write_text("[[faults]]\nwhat = 3\n")
    with pytest.raises(dlsim.DlsimError, match="exited with 1 before it was ready"):
        dlsim.Server(scenario=bad)


def test_a_scenario_file_and_options_reach_the_binary(tmp_path):
    scenario = tmp_path / "slow.toml"
    scenario.write_text('seed = 3\n[[faults]]\nwhat = { kind = "prepare_slow", extra_ms = 500 }\n')
    lib = tmp_path / "lib" / "alpine"
    lib.mkdir(parents=True)
    (lib / "alpine.iso").write_bytes(b"x" * 1000)
    with dlsim.Server(scenario=scenario, library=tmp_path / "lib", tls=True, seed=9) as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert server.faults()[0]["fault"]["what"] == {"kind": "prepare_slow", "extra_ms": 500}
        assert [(f.name, f.size) for f in server.item("alpine").files] == [("alpine.iso", 1000)]
        assert len(server.thumbprint.split(":")) == 32 and len(server.sha1_thumbprint.split(":")) == 20
        assert open(server.ca_file).read().startswith("-----BEGIN CERTIFICATE-----")


def test_verify_raises_naming_the_broken_expectation_and_its_journal_lines():
    namespace: dict = {}
    exec(CLIENT, namespace)
    with dlsim.Server() as server:
        sid = namespace["use_a_session"](server, leak=True)
        report = server.verification()
        assert report["passed"] is False
        with pytest.raises(dlsim.VerificationError) as e:
            server.verify()
        assert set(e.value.broken) == {"sessions-deleted", "logged-out"}
        text = str(e.value)
        assert "FAIL sessions-deleted" in text and sid in text
        assert '"op":"download_session.create"' in text
        assert "PASS" not in text  # only the broken ones


def test_check_runs_the_conformance_runner_and_returns_its_json_report():
    with dlsim.Server(tls=True) as server:
        report = dlsim.check(server, forms="api")
        assert report["passed"] is True, json.dumps(report)[:2000]
        assert report["results"]
    with pytest.raises(dlsim.DlsimError, match="could not run"):
        dlsim.check("http://127.0.0.1:9", user="u", password="p")


LEAKY_TEST = CLIENT + '''
def test_a_leaky_client(dlsim_server):
    use_a_session(dlsim_server, leak=True)
'''


def test_a_leaky_client_fails_under_dlsim_verify_and_passes_without(pytester):
    pytester.makepyfile(test_leaky=LEAKY_TEST)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess("--dlsim-verify")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*FAIL sessions-deleted*",
            "*was never deleted*",
            '*"op":"download_session.create"*',
            "*FAIL logged-out*",
        ]
    )


CAREFUL_TESTS = CLIENT + '''
import pytest

def test_fresh_server(dlsim_server):
    use_a_session(dlsim_server, leak=False)

def test_shared_server_one(dlsim_session_server):
    assert dlsim_session_server.journal() == []
    use_a_session(dlsim_session_server, leak=False)

def test_shared_server_two(dlsim_session_server):
    # Reset between tests: nothing of the previous test is left.
    assert dlsim_session_server.journal() == []
    assert dlsim_session_server.faults() == []
    use_a_session(dlsim_session_server, leak=False)

@pytest.mark.dlsim_scenario("service-unavailable")
def test_marker_on_a_fresh_server(dlsim_server):
    assert [f["fault"]["what"]["kind"] for f in dlsim_server.faults()] == ["http_error", "http_error"]

@pytest.mark.dlsim_scenario("lost-session")
def test_marker_on_the_shared_server(dlsim_session_server):
    assert [f["fault"]["what"]["kind"] for f in dlsim_session_server.faults()] == ["session_vanish"]

def test_leaky_on_the_shared_server_is_caught_too(dlsim_session_server):
    use_a_session(dlsim_session_server, leak=True)
'''


def test_fixtures_marker_and_reset_between_tests(pytester):
    pytester.makepyfile(test_careful=CAREFUL_TESTS)
    result = pytester.runpytest_subprocess("--dlsim-verify", "-v")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*test_leaky_on_the_shared_server_is_caught_too FAILED*"])


def test_a_bad_marker_is_a_usage_error(pytester):
    pytester.makepyfile(
        test_bad="""
import pytest
@pytest.mark.dlsim_scenario()
def test_x(dlsim_server):
    pass
"""
    )
    result = pytester.runpytest_subprocess()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*dlsim_scenario takes one scenario name*"])
