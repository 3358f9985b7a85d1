"""Numbers under loss: closed-form models, a NumPy fast path and Monte Carlo sweeps.

* :mod:`tcpbook.analysis.models` — the geometric handshake, Cardwell et al.'s expected
  handshake time (INFOCOM 2000, eq. 4) and the truncated geometric count of transmissions;
* :mod:`tcpbook.analysis.fastpath` — the handshake sampled 100,000 times at once;
* :mod:`tcpbook.analysis.montecarlo` — sweeps over loss × retries with the event
  simulator or the fast path, returning tidy :class:`Table` s;
* :mod:`tcpbook.analysis.plots` — simulation with confidence intervals beside the models;
* :mod:`tcpbook.analysis.ports` — ephemeral ports and TIME-WAIT: the reconnect rate at
  which a client runs out of ports.
"""
