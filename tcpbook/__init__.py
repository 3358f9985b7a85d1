"""tcpbook: simulate TCP connection management exactly, and look at it.

The pieces, in the order data flows through them:

* :mod:`tcpbook.table` — RFC 9293's state diagram as data (the single source of truth);
* :mod:`tcpbook.endpoint` — a sans-IO TCP endpoint that follows it;
* :mod:`tcpbook.link` — delay, loss and drop rules; :mod:`tcpbook.simulator` — the clock;
* :mod:`tcpbook.network` and :mod:`tcpbook.apps` — wiring and scripted applications;
* :mod:`tcpbook.scenarios` — named runs and :func:`simulate`;
* :mod:`tcpbook.trace` — the record of a run, as objects, text and JSON;
* :mod:`tcpbook.packetdrill` — packetdrill scripts run against the model (:func:`drill`).

>>> from tcpbook import simulate
>>> trace = simulate("full", loss=0.2, seed=7)
>>> trace.outcome.digest_match
True
"""

from .errors import ConnectionClosing, ConnectionDoesNotExist, ParameterError, TcpbookError, TcpUserError
from .link import DropRule, Link
from .packetdrill import drill
from .profiles import PROFILES, Profile, get_profile
from .scenarios import SCENARIOS, describe, simulate
from .segment import Flag, Segment
from .simulator import Simulator
from .table import TRANSITIONS, Arc, State
from .trace import Trace

__version__ = "0.1.0"

__all__ = [
    "Arc",
    "ConnectionClosing",
    "ConnectionDoesNotExist",
    "DropRule",
    "Flag",
    "Link",
    "PROFILES",
    "ParameterError",
    "Profile",
    "SCENARIOS",
    "Segment",
    "Simulator",
    "State",
    "TRANSITIONS",
    "TcpUserError",
    "TcpbookError",
    "Trace",
    "describe",
    "drill",
    "get_profile",
    "simulate",
]
