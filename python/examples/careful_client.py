"""A careful download client written with the official vSphere Automation SDK for Python.

It downloads every file of a library item through one download session, the way a client
should: create the session with a client token, prepare each file and poll it until PREPARED
(and give up on ERROR), keep the session alive with its progress, resume a cut download with
``Range``, check each file's size and checksum, and always fail or delete what it created and
log out, whatever happens. ``test_sdk_download.py`` runs it against dlsim.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Dict, Optional

import requests
import urllib3
from com.vmware.cis_client import Session
from com.vmware.content.library.item.downloadsession_client import File as DsFile
from com.vmware.content.library.item_client import DownloadSession, DownloadSessionModel
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security.session import create_session_security_context
from vmware.vapi.security.user_password import create_user_password_security_context
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory


class DownloadFailed(Exception):
    """The download could not be completed; the session was failed and deleted."""


def http_session(ca_file: Optional[str]) -> requests.Session:
    """A requests session trusting exactly ``ca_file`` (or nothing to verify over HTTP)."""
    http = requests.Session()
    http.trust_env = False  # else REQUESTS_CA_BUNDLE and proxies from the environment win
    http.verify = ca_file if ca_file else False
    return http


def download_item(
    url: str,
    user: str,
    password: str,
    item_id: str,
    out_dir: Path,
    mode: str = "json",
    ca_file: Optional[str] = None,
    poll_timeout: float = 30.0,
) -> Dict[str, int]:
    """Download every file of ``item_id`` into ``out_dir``; ``{file name: size}``.

    ``url`` is the server's ``/api`` URL in the SDK's default JSON-RPC mode (``mode="json"``)
    or its ``/sdk-rest/api`` URL in the ``'rest'`` mode (``mode="rest"``).
    Raises :class:`DownloadFailed` after failing and deleting the session.
    """
    http = http_session(ca_file)
    conn = get_requests_connector(session=http, msg_protocol=mode, url=url)
    cfg = StubConfigurationFactory.new_std_configuration(conn)
    conn.set_security_context(create_user_password_security_context(user, password))
    conn.set_security_context(create_session_security_context(Session(cfg).create()))
    try:
        ds, dsf = DownloadSession(cfg), DsFile(cfg)
        sid = ds.create(
            create_spec=DownloadSessionModel(library_item_id=item_id),
            client_token=str(uuid.uuid4()),
        )
        try:
            return _download_files(http, ds, dsf, sid, out_dir, poll_timeout)
        except DownloadFailed as e:
            ds.fail(sid, str(e))
            raise
        finally:
            ds.delete(sid)
    finally:
        Session(cfg).delete()


def _download_files(http, ds, dsf, sid, out_dir: Path, poll_timeout: float) -> Dict[str, int]:
    files = [f.name for f in dsf.list(sid)]
    done: Dict[str, int] = {}
    for n, name in enumerate(files):
        info = _prepare(dsf, sid, name, poll_timeout)
        target = out_dir / name
        _fetch(http, info.download_endpoint.uri, target, info.size)
        after = dsf.get(sid, name)
        _verify(name, target, after)
        done[name] = target.stat().st_size
        ds.keep_alive(sid, progress=int(100 * (n + 1) / len(files)))
    return done


def _prepare(dsf, sid: str, name: str, poll_timeout: float):
    info = dsf.prepare(sid, name, endpoint_type=DsFile.EndpointType.HTTPS)
    deadline = time.monotonic() + poll_timeout
    while info.status != DsFile.PrepareStatus.PREPARED:
        if info.status == DsFile.PrepareStatus.ERROR:
            msg = info.error_message
            raise DownloadFailed(
                "{} failed to prepare: {} ({})".format(name, msg.default_message, msg.id)
            )
        if time.monotonic() > deadline:
            raise DownloadFailed("{} was not prepared within {} s".format(name, poll_timeout))
        time.sleep(0.1)
        info = dsf.get(sid, name)
    return info


def _fetch(http: requests.Session, uri: str, target: Path, size: int) -> None:
    """Download ``uri`` to ``target``, resuming with ``Range`` after a cut (at most 5 tries)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        for _ in range(5):
            got = out.tell()
            headers = {"Range": "bytes={}-".format(got)} if got else {}
            try:
                with http.get(uri, headers=headers, stream=True, timeout=60) as r:
                    r.raise_for_status()
                    # read1: keep every byte that arrived, even when the body is cut short.
                    for chunk in iter(lambda: r.raw.read1(1 << 20), b""):
                        out.write(chunk)
                if out.tell() == size:
                    return
            except (requests.exceptions.ConnectionError, urllib3.exceptions.HTTPError):
                continue  # cut: resume from what arrived
    raise DownloadFailed("{}: still incomplete after 5 tries".format(target.name))


def _verify(name: str, target: Path, info) -> None:
    size = target.stat().st_size
    if size != info.size:
        raise DownloadFailed("{}: {} bytes received, {} expected".format(name, size, info.size))
    ck = info.checksum_info
    if ck is None:
        raise DownloadFailed("{}: no checksum reported after a complete download".format(name))
    algorithm = str(ck.algorithm or "SHA1").split(".")[-1].lower()
    h = hashlib.new(algorithm)
    with open(target, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != ck.checksum.lower():
        raise DownloadFailed(
            "{}: checksum mismatch ({} {} reported, {} computed)".format(
                name, algorithm, ck.checksum, h.hexdigest()
            )
        )
