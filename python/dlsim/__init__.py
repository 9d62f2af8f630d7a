"""dlsim: a fake vCenter for the Content Library item download-session API, from Python.

Installing the wheel puts the ``dlsim`` binary on the environment's ``PATH`` and installs this
package and its pytest plugin (fixtures ``dlsim_server`` and ``dlsim_session_server``, the
marker ``@pytest.mark.dlsim_scenario(NAME)`` and the option ``--dlsim-verify``).

    import dlsim

    with dlsim.Server() as server:          # 127.0.0.1, a free port, virtual clock, seed 0
        print(server.api_url, server.user, server.password, server.item_id)
        server.add_fault({"kind": "http_error", "status": 503}, times=1)
        ...                                 # drive your client
        server.verify()                     # raises naming what the client broke
"""

from ._server import (
    DlsimError,
    File,
    Item,
    Library,
    Server,
    VerificationError,
    binary,
    check,
    format_report,
)

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
