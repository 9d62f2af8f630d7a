"""Drive dlsim with the official vSphere Automation SDK for Python (9.1.1.0).

Usage: drive.py BASE_API_URL MODE ITEM_ID [SCENARIO]
  MODE is 'json' (the SDK's default JSON-RPC) or 'rest'. With HTTPS, DLSIM_CA names the PEM
  certificate to trust.
Prints one line per step ("ok: ..."), exits non-zero with the step that failed.
"""
import hashlib
import os
import sys
import time
import uuid

import requests
import urllib3

from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory
from vmware.vapi.security.user_password import create_user_password_security_context
from vmware.vapi.security.session import create_session_security_context
from com.vmware.cis_client import Session
from com.vmware.content_client import Library
from com.vmware.content.library_client import Item
from com.vmware.content.library.item_client import DownloadSession, DownloadSessionModel
from com.vmware.content.library.item.downloadsession_client import File as DsFile
from com.vmware.vapi.std import errors_client as errors

BASE, MODE, ITEM = sys.argv[1], sys.argv[2], sys.argv[3]
SCENARIO = sys.argv[4] if len(sys.argv) > 4 else None
USER, PASSWORD = "administrator@vsphere.local", "VMware1!"

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
http = requests.Session()
# Trust exactly the fake's certificate when it serves HTTPS (DLSIM_CA: its PEM file).
# (trust_env off: a REQUESTS_CA_BUNDLE in the environment would win over session.verify.)
http.trust_env = False
http.verify = os.environ.get("DLSIM_CA", False)


def ok(what):
    print("ok:", what, flush=True)


def connect():
    conn = get_requests_connector(session=http, msg_protocol=MODE, url=BASE)
    cfg = StubConfigurationFactory.new_std_configuration(conn)
    conn.set_security_context(create_user_password_security_context(USER, PASSWORD))
    sid = Session(cfg).create()
    conn.set_security_context(create_session_security_context(sid))
    return conn, cfg


def expect_error(cls, call, what):
    try:
        call()
    except cls as e:
        ok(f"{what} raised {type(e).__name__} ({e.error_type})")
        return e
    except Exception as e:  # noqa: BLE001 - report the wrong class
        sys.exit(f"FAIL: {what} raised {type(e).__name__}: {e}")
    sys.exit(f"FAIL: {what} raised nothing, expected {cls.__name__}")


def whole_download():
    conn, cfg = connect()
    ok("login")
    libs = Library(cfg).list()
    assert libs, "no library"
    items = Item(cfg).list(libs[0])
    assert ITEM in items, f"{ITEM} not in {items}"
    found = Item(cfg).find(Item.FindSpec(name=Item(cfg).get(ITEM).name))
    assert found == [ITEM], found
    ok("find the library and the item")
    ds, dsf = DownloadSession(cfg), DsFile(cfg)
    dsid = ds.create(create_spec=DownloadSessionModel(library_item_id=ITEM),
                     client_token=str(uuid.uuid4()))
    model = ds.get(dsid)
    assert model.state == DownloadSessionModel.State.ACTIVE, model.state
    assert dsid in ds.list() and dsid in ds.list(library_item_id=ITEM)
    ok("create, get, list")
    files = dsf.list(dsid)
    assert files, "no files"
    small = [f.name for f in files if f.name.endswith(".ovf")][0]
    info = dsf.prepare(dsid, small, endpoint_type=DsFile.EndpointType.HTTPS)
    deadline = time.time() + 30
    while info.status not in (DsFile.PrepareStatus.PREPARED, DsFile.PrepareStatus.ERROR):
        assert time.time() < deadline, "prepare timed out"
        time.sleep(0.2)
        info = dsf.get(dsid, small)
    assert info.status == DsFile.PrepareStatus.PREPARED, info
    ok("file list, prepare and poll")
    ds.keep_alive(dsid, progress=50)
    assert ds.get(dsid).client_progress == 50
    ok("keep_alive with progress")
    data = http.get(info.download_endpoint.uri).content
    after = dsf.get(dsid, small)
    assert after.size == len(data), (after.size, len(data))
    algo = str(after.checksum_info.algorithm or "SHA1").split(".")[-1].lower()
    digest = hashlib.new(algo, data).hexdigest()
    assert after.checksum_info.checksum == digest, (after.checksum_info.checksum, digest)
    ok(f"download {len(data)} bytes and verify the checksum")
    ds.cancel(dsid)
    expect_error(errors.NotAllowedInCurrentState if MODE == "json" else errors.Error,
                 lambda: ds.keep_alive(dsid), "keep_alive after cancel")
    other = ds.create(create_spec=DownloadSessionModel(library_item_id=ITEM))
    ds.fail(other, "client failure")
    assert ds.get(other).state == DownloadSessionModel.State.ERROR
    ok("fail")
    ds.delete(dsid)
    ds.delete(other)
    expect_error(errors.NotFound, lambda: ds.get(dsid), "get after delete")
    Session(cfg).delete()
    ok("logout")


def under_scenario(name):
    conn, cfg = connect()
    ds, dsf = DownloadSession(cfg), DsFile(cfg)
    if name == "service-unavailable":
        # The first create answers 503: the SDK raises an HTTP or ServiceUnavailable error.
        # JSON-RPC resolves the class by name; 'rest' mode always raises the operation's first
        # declared error (InvalidArgument for create), with the real error_type inside.
        expected = errors.ServiceUnavailable if MODE == "json" else errors.Error
        e = expect_error(expected, lambda: ds.create(
            create_spec=DownloadSessionModel(library_item_id=ITEM)), "create under a 503")
        assert e.error_type == "SERVICE_UNAVAILABLE", e.error_type
        return
    dsid = ds.create(create_spec=DownloadSessionModel(library_item_id=ITEM))
    if name == "prepare-error":
        disk = [f.name for f in dsf.list(dsid) if f.name.endswith(".vmdk")][0]
        dsf.prepare(dsid, disk)
        info = dsf.get(dsid, disk)
        deadline = time.time() + 30
        while info.status != DsFile.PrepareStatus.ERROR:
            assert time.time() < deadline, info.status
            time.sleep(0.2)
            info = dsf.get(dsid, disk)
        assert info.error_message.id.startswith("com.vmware.vdcs.cls-main."), info.error_message
        ok(f"file in ERROR with {info.error_message.id}")
        ds.fail(dsid, "prepare failed")
    elif name == "checksum-mismatch":
        ovf = [f.name for f in dsf.list(dsid) if f.name.endswith(".ovf")][0]
        dsf.prepare(dsid, ovf)
        info = dsf.get(dsid, ovf)
        while info.status != DsFile.PrepareStatus.PREPARED:
            time.sleep(0.2)
            info = dsf.get(dsid, ovf)
        data = http.get(info.download_endpoint.uri).content
        after = dsf.get(dsid, ovf)
        assert after.checksum_info.checksum != hashlib.sha1(data).hexdigest()
        ok("checksum mismatch seen")
        ds.fail(dsid, "checksum mismatch")
    ds.delete(dsid)
    Session(cfg).delete()


if SCENARIO:
    under_scenario(SCENARIO)
else:
    whole_download()
print("DONE", flush=True)
