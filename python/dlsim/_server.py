"""`dlsim.Server`: a `dlsim serve` child process and its control plane."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

StrPath = Union[str, "os.PathLike[str]"]

__all__ = [
    "DlsimError",
    "File",
    "Item",
    "Library",
    "Server",
    "VerificationError",
    "binary",
    "check",
    "format_report",
]


class DlsimError(Exception):
    """dlsim could not be started, or refused a control-plane call (the message says why)."""


class VerificationError(AssertionError):
    """The client under test broke at least one expectation of dlsim's verification.

    ``str(error)`` names each broken expectation, what was expected and what came instead, and
    the journal lines that show it; ``error.report`` is the whole report as parsed JSON.
    """

    def __init__(self, report: Mapping[str, Any]) -> None:
        self.report: Dict[str, Any] = dict(report)
        super().__init__(format_report(report, broken_only=True))

    @property
    def broken(self) -> List[str]:
        """The ids of the broken expectations (``sessions-deleted``, ``logged-out``, ...)."""
        return [
            o["id"]
            for o in self.report.get("expectations", [])
            if o.get("applied") and not o.get("passed")
        ]


@dataclass(frozen=True)
class File:
    """One file of a library item."""

    name: str
    size: int


@dataclass(frozen=True)
class Item:
    """A library item the server serves, from its ready file."""

    id: str
    name: str
    type: Optional[str]
    size: int
    files: Tuple[File, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Library:
    """A library the server serves, with its items."""

    id: str
    name: str
    items: Tuple[Item, ...] = field(default_factory=tuple)


def binary() -> str:
    """The path of the ``dlsim`` binary: ``$DLSIM_BINARY``, else the one this wheel installed
    beside the Python interpreter, else the first ``dlsim`` on the ``PATH``."""
    given = os.environ.get("DLSIM_BINARY")
    if given:
        return given
    exe = "dlsim.exe" if sys.platform == "win32" else "dlsim"
    candidates = [
        Path(sysconfig.get_path("scripts")) / exe,
        Path(sys.executable).parent / exe,
    ]
    for c in candidates:
        if c.is_file():
            return str(c)
    found = shutil.which("dlsim")
    if found:
        return found
    raise DlsimError(
        "cannot find the dlsim binary: install the dlsim wheel into this environment, "
        "put dlsim on the PATH, or set DLSIM_BINARY"
    )


def format_report(report: Mapping[str, Any], broken_only: bool = False) -> str:
    """A client verification report (``GET /dlsim/verify``) for people: one line per
    expectation (only the broken ones with ``broken_only``), each finding, and the journal
    lines that show it."""
    expectations = report.get("expectations", [])
    broken = [o for o in expectations if o.get("applied") and not o.get("passed")]
    applied = [o for o in expectations if o.get("applied")]
    lines = [
        "dlsim client verification: {} ({} of {} applied expectation(s) broken)".format(
            "PASSED" if report.get("passed") else "FAILED", len(broken), len(applied)
        )
    ]
    if report.get("journal_dropped"):
        lines.append(
            "warning: {} journal line(s) were dropped; only the rest was checked".format(
                report["journal_dropped"]
            )
        )
    for o in broken if broken_only else expectations:
        mark = "OFF " if not o.get("applied") else ("PASS" if o.get("passed") else "FAIL")
        lines.append("{} {} — {} ({})".format(mark, o["id"], o["rule"], o.get("detail", "")))
        for f in o.get("findings", []):
            lines.append("     - " + f["explanation"])
            for entry in f.get("lines", []):
                lines.append("         " + json.dumps(entry, separators=(",", ":")))
    return "\n".join(lines)


class Server:
    """A running ``dlsim serve`` on ``127.0.0.1`` and a free port.

    By default it runs on the virtual clock with seed 0, so ids, tokens, times and expiry are
    the same on every run (move time with :meth:`advance_clock`), over plain HTTP, serving the
    built-in demo library. Use it as a context manager, or call :meth:`stop`::

        with dlsim.Server(scenario="prepare-error") as server:
            run_my_client(server.api_url, server.user, server.password)
            server.verify()   # raises VerificationError naming what the client broke

    :param scenario: a shelf scenario name (``dlsim scenarios`` lists them) or a scenario file.
    :param seed: seed of every id and token (``None``: random).
    :param virtual_clock: run on the virtual clock (``False``: the real clock).
    :param tls: serve HTTPS with a certificate generated at start (see :attr:`ca_file`).
    :param library: serve this directory (one item per subdirectory) instead of the demo.
    :param config: a ``dlsim serve --config`` TOML file.
    :param idle_timeout: idle timeout of download sessions, in seconds.
    :param control_token: require this token on control-plane calls (sent by this object).
    :param args: more ``dlsim serve`` arguments, as given.
    :param start_timeout: how long to wait for the server to be ready, in seconds.
    """

    def __init__(
        self,
        *,
        scenario: Optional[StrPath] = None,
        seed: Optional[int] = 0,
        virtual_clock: bool = True,
        tls: bool = False,
        library: Optional[StrPath] = None,
        config: Optional[StrPath] = None,
        idle_timeout: Optional[int] = None,
        control_token: Optional[str] = None,
        args: Sequence[str] = (),
        start_timeout: float = 30.0,
    ) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="dlsim-")
        self._control_token = control_token
        self._exit_code: Optional[int] = None
        ready = Path(self._dir.name) / "ready.json"
        cmd = [binary(), "serve", "--listen", "127.0.0.1:0", "--ready-file", str(ready)]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        if virtual_clock:
            cmd.append("--virtual-clock")
        if tls:
            cmd.append("--tls")
        if scenario is not None:
            cmd += ["--scenario", os.fspath(scenario)]
        if library is not None:
            cmd += ["--library", os.fspath(library)]
        if config is not None:
            cmd += ["--config", os.fspath(config)]
        if idle_timeout is not None:
            cmd += ["--idle-timeout", str(idle_timeout)]
        cmd += list(args)
        env = dict(os.environ)
        env.pop("DLSIM_CONTROL_TOKEN", None)
        if control_token is not None:
            env["DLSIM_CONTROL_TOKEN"] = control_token
        self._log_path = Path(self._dir.name) / "dlsim.log"
        self._log = open(self._log_path, "wb")  # noqa: SIM115 - closed in stop()
        try:
            self._process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env
            )
        except OSError as e:
            self._cleanup()
            raise DlsimError("cannot start {}: {}".format(cmd[0], e)) from e
        try:
            self._ready = self._wait_ready(ready, start_timeout)
        except BaseException:
            self.stop()
            raise
        self._ca_file: Optional[str] = None
        tls_info = self._ready.get("tls")
        if tls_info:
            ca = Path(self._dir.name) / "dlsim-ca.pem"
            ca.write_text(tls_info["certificate_pem"])
            self._ca_file = str(ca)
        self._opener = self._make_opener()

    # ---- start and stop ----

    def _wait_ready(self, path: Path, timeout: float) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return dict(json.loads(path.read_text()))
            except (OSError, ValueError):
                pass
            code = self._process.poll()
            if code is not None:
                raise DlsimError(
                    "dlsim serve exited with {} before it was ready:\n{}".format(code, self.logs)
                )
            if time.monotonic() > deadline:
                raise DlsimError(
                    "dlsim serve was not ready within {} s:\n{}".format(timeout, self.logs)
                )
            time.sleep(0.02)

    def stop(self, timeout: float = 15.0) -> Optional[int]:
        """Stop the server gracefully (SIGTERM; killed if it has not stopped within
        ``timeout`` seconds) and return its exit code. Calling it again does nothing."""
        if self._exit_code is None and getattr(self, "_process", None) is not None:
            if self._process.poll() is None:
                try:
                    self._process.send_signal(signal.SIGTERM)
                    self._exit_code = self._process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._exit_code = self._process.wait()
            else:
                self._exit_code = self._process.returncode
        self._cleanup()
        return self._exit_code

    def _cleanup(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()
            try:
                self._final_logs = self._log_path.read_text(errors="replace")
            except OSError:
                self._final_logs = ""
        self._dir.cleanup()

    @property
    def running(self) -> bool:
        """Whether the server process is still running."""
        return self._exit_code is None and self._process.poll() is None

    @property
    def logs(self) -> str:
        """What the server wrote to stdout and stderr so far (its banner, then any log)."""
        if hasattr(self, "_final_logs"):
            return self._final_logs
        try:
            return self._log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> "Server":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        # A server never outlives a forgotten object.
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def __repr__(self) -> str:
        return "<dlsim.Server {} pid={}{}>".format(
            self.url, self.pid, "" if self.running else " stopped"
        )

    # ---- what the ready file says ----

    @property
    def ready(self) -> Dict[str, Any]:
        """The whole ready file (``schemas/dlsim/ready.json`` in the dlsim repository)."""
        return dict(self._ready)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return int(self._process.pid)

    @property
    def version(self) -> str:
        """dlsim's version."""
        return str(self._ready["version"])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123`` (no trailing slash)."""
        return str(self._ready["base_url"])

    @property
    def api_url(self) -> str:
        """The ``/api`` URL: current REST, and JSON-RPC for the official SDKs."""
        return str(self._ready["api_url"])

    @property
    def rest_url(self) -> str:
        """The legacy ``/rest`` URL."""
        return str(self._ready["rest_url"])

    @property
    def sdk_rest_url(self) -> str:
        """Where to point the Python SDK in its ``'rest'`` mode (``msg_protocol='rest'``)."""
        return self.url + "/sdk-rest/api"

    @property
    def control_url(self) -> str:
        """The control plane, ``<url>/dlsim/``."""
        return str(self._ready["control_url"])

    @property
    def user(self) -> str:
        """A user with every privilege (``administrator@vsphere.local`` on the demo)."""
        return str(self._ready["username"])

    @property
    def password(self) -> str:
        """:attr:`user`'s password."""
        return str(self._ready["password"])

    @property
    def tls(self) -> bool:
        """Whether the server speaks HTTPS."""
        return self._ca_file is not None

    @property
    def thumbprint(self) -> Optional[str]:
        """SHA-256 thumbprint (``AB:CD:...``) of the server's certificate; ``None`` over HTTP."""
        t = self._ready.get("tls")
        return str(t["sha256_thumbprint"]) if t else None

    @property
    def sha1_thumbprint(self) -> Optional[str]:
        """SHA-1 thumbprint of the server's certificate (what 7.x/8.x report); ``None`` over HTTP."""
        t = self._ready.get("tls")
        return str(t["sha1_thumbprint"]) if t else None

    @property
    def ca_file(self) -> Optional[str]:
        """A PEM file holding the server's certificate, to trust it (e.g.
        ``requests.Session().verify = server.ca_file``); ``None`` over HTTP."""
        return self._ca_file

    @property
    def libraries(self) -> List[Library]:
        """The libraries served, with their items and files."""
        return [
            Library(
                id=lib["id"],
                name=lib["name"],
                items=tuple(
                    Item(
                        id=it["id"],
                        name=it["name"],
                        type=it.get("type"),
                        size=int(it["size"]),
                        files=tuple(File(f["name"], int(f["size"])) for f in it["files"]),
                    )
                    for it in lib["items"]
                ),
            )
            for lib in self._ready["catalog"]
        ]

    @property
    def library_id(self) -> str:
        """The first library's id."""
        return self.libraries[0].id

    @property
    def items(self) -> List[Item]:
        """Every item of every library."""
        return [it for lib in self.libraries for it in lib.items]

    @property
    def item_id(self) -> str:
        """The first item's id (on the demo: the ``photon-5-ovf`` OVF template)."""
        return self.items[0].id

    def item(self, name: str) -> Item:
        """The item called ``name`` (``KeyError`` naming the known ones if there is none)."""
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(
            "no item {!r}; the server has: {}".format(name, ", ".join(i.name for i in self.items))
        )

    # ---- the control plane ----

    def _make_opener(self) -> urllib.request.OpenerDirector:
        handlers: List[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        if self._ca_file is not None:
            ctx = ssl.create_default_context(cafile=self._ca_file)
            ctx.check_hostname = False  # pinned to exactly this certificate anyway
            handlers.append(urllib.request.HTTPSHandler(context=ctx))
        return urllib.request.build_opener(*handlers)

    def _call(
        self, method: str, path: str, body: Any = None, query: Optional[Mapping[str, Any]] = None
    ) -> Tuple[int, Dict[str, str], bytes]:
        url = self.control_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self._control_token is not None:
            req.add_header("dlsim-control-token", self._control_token)
        try:
            with self._opener.open(req, timeout=30) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            message = text
            try:
                messages = json.loads(text).get("messages") or []
                message = "; ".join(m.get("default_message", "") for m in messages) or text
            except (ValueError, AttributeError):
                pass
            raise DlsimError(
                "{} /dlsim/{} answered {}: {}".format(method, path, e.code, message)
            ) from None
        except urllib.error.URLError as e:
            raise DlsimError(
                "cannot reach the control plane at {}: {}".format(self.control_url, e.reason)
            ) from None

    def _json(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        _, _, raw = self._call(method, path, body, query or None)
        return json.loads(raw) if raw else None

    def add_fault(
        self,
        what: Mapping[str, Any],
        when: Optional[Mapping[str, Any]] = None,
        times: Optional[int] = None,
    ) -> int:
        """Load one fault and return its id. ``what`` and ``when`` are written as in a
        scenario file or ``POST /dlsim/faults``, e.g.
        ``server.add_fault({"kind": "http_error", "status": 503}, when={"op":
        "download_session.create"}, times=1)``."""
        fault: Dict[str, Any] = {"what": dict(what)}
        if when is not None:
            fault["when"] = dict(when)
        if times is not None:
            fault["times"] = times
        # One object, not a list of one: a refusal then names the offending key.
        return int(self._json("POST", "faults", fault)["ids"][0])

    def add_faults(self, faults: Sequence[Mapping[str, Any]]) -> List[int]:
        """Load whole faults (``{"when": ..., "what": ..., "times": ...}``); their ids."""
        return [int(i) for i in self._json("POST", "faults", [dict(f) for f in faults])["ids"]]

    def faults(self) -> List[Dict[str, Any]]:
        """The loaded faults: ``{"id", "fault": {"when", "what", "times", ...}, "calls",
        "fired"}`` each, with how often it matched and fired."""
        return list(self._json("GET", "faults")["faults"])

    def remove_fault(self, fault_id: int) -> None:
        """Unload one fault by id."""
        self._call("DELETE", "faults/{}".format(int(fault_id)))

    def clear_faults(self) -> None:
        """Unload every fault."""
        self._call("DELETE", "faults")

    def scenarios(self) -> Dict[str, str]:
        """The shelf: scenario name -> what it does."""
        return {s["name"]: s["summary"] for s in self._json("GET", "scenarios")["scenarios"]}

    def load_scenario(self, scenario: StrPath) -> List[int]:
        """Load a scenario, replacing the loaded faults, seed and expectations: a shelf name
        (``"prepare-error"``) or the path of a scenario file. Returns the new faults' ids."""
        if isinstance(scenario, str) and "/" not in scenario and not scenario.endswith(".toml"):
            body = {"name": scenario}
        else:
            body = {"toml": Path(scenario).read_text()}
        return [int(i) for i in self._json("POST", "scenario", body)["ids"]]

    def clock(self) -> Dict[str, Any]:
        """The server clock: ``{"virtual": bool, "now": "<date-time>"}``."""
        return dict(self._json("GET", "clock"))

    def advance_clock(self, seconds: float) -> str:
        """Move the virtual clock forward (``DlsimError`` on the real clock); the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        return str(self._json("POST", "clock", advance_ms=int(round(seconds * 1000)))["now"])

    def journal(self, since: int = 0) -> List[Dict[str, Any]]:
        """The journal entries after sequence number ``since``: one dict per answered
        request (``seq``, ``form``, ``op``, ``method``, ``path``, ``status``, ...)."""
        _, _, raw = self._call("GET", "journal", query={"since": since})
        return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]

    def verification(self) -> Dict[str, Any]:
        """The client verification report over the journal, without raising."""
        return dict(self._json("GET", "verify"))

    def verify(self) -> Dict[str, Any]:
        """Check the client under test over the journal. Returns the report when every applied
        expectation passed; raises :class:`VerificationError` naming each broken expectation
        and its journal lines otherwise."""
        report = self.verification()
        if not report.get("passed"):
            raise VerificationError(report)
        return report

    def reset(self) -> None:
        """Back to the state at start: sessions, logins, faults, journal, clock and seed."""
        self._call("POST", "reset")


def check(
    target: Union[str, Server],
    *,
    user: Optional[str] = None,
    password: Optional[str] = None,
    forms: str = "all",
    insecure: bool = False,
    thumbprint: Optional[str] = None,
    item: Optional[str] = None,
    slow: bool = False,
    strict: bool = False,
    timeout: float = 900.0,
) -> Dict[str, Any]:
    """Run the conformance runner (``dlsim check``) against an endpoint and return its JSON
    report (``report["passed"]``, ``report["results"]``, ...).

    ``target`` is a base URL (a vCenter, a proxy, a simulator) or a :class:`Server`, whose URL,
    user, password and certificate are then used. A run that could not happen (bad URL,
    unreachable, wrong thumbprint) raises :class:`DlsimError`; failed rules do not raise.
    """
    env = dict(os.environ)
    if isinstance(target, Server):
        url = target.url
        user = user if user is not None else target.user
        password = password if password is not None else target.password
        if target.tls and thumbprint is None and not insecure:
            thumbprint = target.thumbprint
        if target._control_token is not None:
            env["DLSIM_CONTROL_TOKEN"] = target._control_token
    else:
        url = target
    if user is None or password is None:
        raise ValueError("give user and password (or a dlsim.Server)")
    cmd = [binary(), "check", url, "--user", user, "--form", forms, "--format", "json", "--quiet"]
    env["DLSIM_PASSWORD"] = password
    if insecure:
        cmd.append("--insecure")
    if thumbprint is not None:
        cmd += ["--thumbprint", thumbprint]
    if item is not None:
        cmd += ["--item", item]
    if slow:
        cmd.append("--slow")
    if strict:
        cmd.append("--strict")
    try:
        out = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired as e:
        raise DlsimError("dlsim check did not finish within {} s".format(timeout)) from e
    if out.returncode not in (0, 1):
        raise DlsimError(
            "dlsim check could not run (exit {}): {}".format(
                out.returncode, out.stderr.decode(errors="replace").strip()
            )
        )
    try:
        return dict(json.loads(out.stdout))
    except ValueError as e:
        raise DlsimError(
            "dlsim check wrote no JSON report: {}".format(out.stderr.decode(errors="replace"))
        ) from e
