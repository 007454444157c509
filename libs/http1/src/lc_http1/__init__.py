"""A lean HTTP/1.1 keep-alive client (`client`), its errors (`errors`)."""

from lc_http1.client import Answer, Http1Client
from lc_http1.errors import ConnectFailed, ConnectionBroken, Http1Error, ReadTimeout

__all__ = [
    "Answer",
    "ConnectFailed",
    "ConnectionBroken",
    "Http1Client",
    "Http1Error",
    "ReadTimeout",
]
