"""What `Http1Client.post` raises when no answer came (module `client`).

    Http1Error
    ├── ConnectFailed      no connection could be made (nothing was sent), or kept-alive
    │                      connections closed before answering, twice in a row
    ├── ReadTimeout        nothing arrived for the read timeout
    └── ConnectionBroken   the connection failed after the request went out, or the
                           answer was not HTTP/1.1

Whatever the caller's `address` hook raises passes through unchanged.
"""

from __future__ import annotations


class Http1Error(Exception):
    pass


class ConnectFailed(Http1Error):
    pass


class ReadTimeout(Http1Error):
    pass


class ConnectionBroken(Http1Error):
    pass
