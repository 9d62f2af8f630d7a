"""The dlsim pytest plugin (registered through the ``pytest11`` entry point).

Fixtures:

* ``dlsim_server``: a fresh :class:`dlsim.Server` for each test, stopped after it;
* ``dlsim_session_server``: one server for the whole session, reset before each test (faster
  when many tests share it).

Marker: ``@pytest.mark.dlsim_scenario("prepare-error")`` loads a shelf scenario (or a scenario
file) into either fixture for that test.

Option: ``--dlsim-verify`` fails a test whose client broke an expectation of dlsim's client
verification (sessions left behind, polling after an error, ...); the failure names each
broken expectation and the journal lines that show it.
"""

from __future__ import annotations

from typing import Any, Generator, Optional

import pytest

from ._server import Server, VerificationError

_SERVERS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dlsim", "dlsim, the fake vCenter download-session API")
    group.addoption(
        "--dlsim-verify",
        action="store_true",
        default=False,
        help="fail a test whose client broke an expectation of dlsim's verification "
        "(the failure shows the journal lines)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "dlsim_scenario(name): load this dlsim fault scenario (a shelf name or a file) into "
        "the dlsim_server or dlsim_session_server fixture",
    )


def _scenario(request: pytest.FixtureRequest) -> Optional[str]:
    marker = request.node.get_closest_marker("dlsim_scenario")
    if marker is None:
        return None
    if len(marker.args) != 1 or not isinstance(marker.args[0], str):
        raise pytest.UsageError(
            "@pytest.mark.dlsim_scenario takes one scenario name or file, e.g. "
            '@pytest.mark.dlsim_scenario("prepare-error")'
        )
    return str(marker.args[0])


def _watch(request: pytest.FixtureRequest, server: Server) -> None:
    """Remember the test's server, for --dlsim-verify after the test body."""
    request.node.stash.setdefault(_SERVERS, []).append(server)


@pytest.fixture
def dlsim_server(request: pytest.FixtureRequest) -> Generator[Server, None, None]:
    """A fresh dlsim server for this test (virtual clock, seed 0, the demo library, plain
    HTTP), with the test's ``dlsim_scenario`` loaded; stopped after the test."""
    server = Server(scenario=_scenario(request))
    _watch(request, server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _dlsim_shared_server() -> Generator[Server, None, None]:
    server = Server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dlsim_session_server(
    request: pytest.FixtureRequest, _dlsim_shared_server: Server
) -> Server:
    """One dlsim server for the whole test session, reset before each test (sessions,
    logins, faults, journal, clock and seed), with the test's ``dlsim_scenario`` loaded."""
    server = _dlsim_shared_server
    server.reset()
    scenario = _scenario(request)
    if scenario is not None:
        server.load_scenario(scenario)
    _watch(request, server)
    return server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    result = yield
    # Only reached when the test body passed: a failing test keeps its own failure.
    if item.config.getoption("dlsim_verify"):
        for server in item.stash.get(_SERVERS, []):
            report = server.verification()
            if not report.get("passed"):
                pytest.fail(str(VerificationError(report)), pytrace=False)
    return result
