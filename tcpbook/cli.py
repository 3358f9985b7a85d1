"""The ``tcpbook`` command line (also ``python -m tcpbook``).

::

    tcpbook scenarios                          one line per scenario
    tcpbook run SCENARIO [options]             the run as tcpdump-like text
    tcpbook run SCENARIO [options] --json      the run as one JSON document
    tcpbook run SCENARIO [options] --pcap F    also write a pcap of the run
    tcpbook diagram SCENARIO [options] --out F write the state and/or ladder diagram (SVG/PNG)
    tcpbook show CAPTURE [--svg F]             a real capture as a text ladder (or pictures)
    tcpbook drill SCRIPT.pkt [--json|--svg F]  run a packetdrill script against the model

Every scenario parameter is a flag with the same name (``syn_retries`` → ``--syn-retries``),
read and checked by its declaration (:class:`tcpbook.params.Param`);
``tcpbook run SCENARIO --help`` lists exactly that scenario's parameters with their
defaults.  Bad input gives one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import ParameterError, TcpbookError
from .params import Param
from .scenarios import SCENARIOS, get_scenario, simulate

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 128 + 13  # what a Unix tool killed by SIGPIPE reports (`yes | head`)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _every_param() -> dict[str, Param]:
    """Every parameter any scenario accepts (the first declaration of each name)."""
    found: dict[str, Param] = {}
    for sc in SCENARIOS.values():
        for p in sc.params:
            found.setdefault(p.name, p)
    return found


def _add_scenario_options(parser: argparse.ArgumentParser, scenario: str | None) -> None:
    """The scenario argument and a flag per parameter.  When the scenario is known, its
    own parameters are listed in ``--help`` with their defaults; the others stay accepted
    (so that using one gives a clear "not a parameter of this scenario" error) but hidden."""
    parser.add_argument("scenario", help="scenario name (see `tcpbook scenarios`)")
    known = get_scenario(scenario).params if scenario in SCENARIOS else None
    title = f"parameters of {scenario} (same names as the Python API)" if known else "scenario parameters (same names as the Python API)"
    group = parser.add_argument_group(title)
    for name, param in _every_param().items():
        shown = known[name] if known is not None and name in known else (param if known is None else None)
        help_text = shown.describe() if shown is not None else argparse.SUPPRESS
        if param.kind is list:
            group.add_argument(param.flag, dest=name, action="append", default=None, metavar="RULE", help=help_text)
        else:
            group.add_argument(param.flag, dest=name, type=str, default=None, metavar="VALUE", help=help_text)


def _collect_params(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, each parsed by its declaration in the chosen scenario."""
    sc = get_scenario(args.scenario)
    params: dict[str, Any] = {}
    for name in _every_param():
        raw = getattr(args, name, None)
        if raw is None:
            continue
        if name not in sc.params:
            shown = ",".join(raw) if isinstance(raw, list) else raw
            raise ParameterError(name, shown, f"a parameter of scenario {sc.name!r} (see `tcpbook run {sc.name} --help`)")
        param = sc.params[name]
        params[name] = param.check(raw) if param.kind is list else param.parse(raw)
    return params


def _scenario_in(argv: Sequence[str]) -> str | None:
    """The scenario named on a ``run``/``diagram`` command line, if it is easy to see."""
    if len(argv) >= 2 and argv[0] in ("run", "diagram") and argv[1] in SCENARIOS:
        return argv[1]
    return None


def build_parser(scenario: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``scenario``, ``run``/``diagram`` help lists its parameters."""
    parser = _Parser(prog="tcpbook", description="Simulate and draw TCP connection management (RFC 9293, Linux timings).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("scenarios", help="list the scenarios, one line each")
    run = sub.add_parser("run", help="run a scenario and print it as text or JSON")
    _add_scenario_options(run, scenario)
    run.add_argument("--json", action="store_true", help="print one JSON document (schema in README)")
    run.add_argument("--timers", action="store_true", help="also print timer events in the text output")
    run.add_argument("--cwnd", action="store_true", help="also print congestion-window changes in the text output")
    run.add_argument("--pcap", metavar="FILE", help="also write the run as a pcap file")
    run.add_argument("--vantage", default="wire", choices=("wire", "client", "server"), help="where the pcap is captured")
    diagram = sub.add_parser("diagram", help="write the state and/or ladder diagram of a run (SVG or PNG)")
    _add_scenario_options(diagram, scenario)
    diagram.add_argument("--picture", default="both", choices=("state", "ladder", "both"))
    diagram.add_argument("--out", default=None, metavar="PATH", help="output file (.svg/.png); with --picture both, a prefix")
    diagram.add_argument("--format", default="svg", choices=("svg", "png"))
    diagram.add_argument("--axis", default="compressed", choices=("compressed", "linear"), help="ladder time axis")
    show = sub.add_parser("show", help="draw a real capture (pcap/pcapng) with the book's pictures")
    show.add_argument("capture", help="a .pcap or .pcapng file holding one TCP connection")
    show.add_argument("--port", type=int, default=None, help="pick the connection with this port")
    show.add_argument("--connection", type=int, default=None, metavar="N",
                      help="the N-th connection on a reused 4-tuple (1 = the first)")
    show.add_argument("--svg", metavar="PREFIX", default=None, help="write PREFIX-state.svg and PREFIX-ladder.svg")
    show.add_argument("--json", action="store_true", help="print the imported trace as JSON")
    show.add_argument("--relative", action="store_true", help="number each side's bytes from 0, as Wireshark does")
    _add_drill_parser(sub)
    return parser


def _add_drill_parser(sub: Any) -> None:
    """``tcpbook drill SCRIPT.pkt``: exit 0 when the model does what the script says, 1 on
    the first mismatch, 2 for a script that cannot be parsed (one line, with its number)."""
    from .packetdrill import TOLERANCE_PERCENT, TOLERANCE_USECS
    from .profiles import PROFILE_PARAMS

    drill = sub.add_parser("drill", help="run a packetdrill script against the Linux model (exit 0 pass, 1 mismatch, 2 unreadable)")
    drill.add_argument("script", help="a packetdrill script (.pkt)")
    drill.add_argument("--json", action="store_true", help="print the run as one JSON document (the trace schema; verdict in outcome.stats)")
    drill.add_argument("--svg", metavar="PREFIX", default=None, help="also write PREFIX-state.svg and PREFIX-ladder.svg")
    drill.add_argument("--timers", action="store_true", help="also print timer events in the text output")
    drill.add_argument("--strict-options", action="store_true", help="fail on TCP options the model does not implement (default: list them)")
    drill.add_argument("--tolerance-usecs", type=int, default=None, metavar="N",
                       help=f"timing tolerance in microseconds (packetdrill's default {TOLERANCE_USECS})")
    drill.add_argument("--tolerance-percent", type=float, default=None, metavar="P",
                       help=f"timing tolerance as a percentage of the time since the previous event (default {TOLERANCE_PERCENT:g})")
    drill.add_argument("--profile", default="linux", choices=("linux", "rfc"), help="the stack under test (default linux)")
    group = drill.add_argument_group("profile parameters (as sysctl would set them; same names as the Python API)")
    for param in PROFILE_PARAMS:
        group.add_argument(param.flag, dest=f"profile_{param.name}", type=str, default=None, metavar="VALUE", help=param.describe())


def check_writable(path: str | os.PathLike[str], what: str) -> Path:
    """Fail before any work if ``path`` cannot be written (its folder missing, or not writable)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ParameterError(what, str(path), "a file name, not a folder")
    if not folder.is_dir():
        raise ParameterError(what, str(path), f"a path in an existing folder ({folder} does not exist)")
    if not os.access(folder, os.W_OK):
        raise ParameterError(what, str(path), f"a path in a folder you may write to ({folder} is not writable)")
    return target


def _cmd_scenarios() -> int:
    width = max(len(name) for name in SCENARIOS)
    for name, sc in SCENARIOS.items():
        print(f"{name:<{width}}  {sc.summary}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    params = _collect_params(args)
    if args.pcap:
        from .pcap import check_pcap_path

        check_pcap_path(args.pcap)
    trace = simulate(args.scenario, **params)
    if args.pcap:
        from .pcap import write_pcap

        write_pcap(trace, args.pcap, vantage=args.vantage)
    if args.json:
        sys.stdout.write(trace.to_json() + "\n")
    else:
        sys.stdout.write(trace.to_text(timers=args.timers, cwnd=args.cwnd))
    return 0


def _diagram_paths(args: argparse.Namespace) -> list[tuple[str, Path]]:
    pictures = ["state", "ladder"] if args.picture == "both" else [args.picture]
    base = args.out or args.scenario
    paths = []
    for picture in pictures:
        if args.out and args.picture != "both":
            path = Path(args.out)
            if path.suffix not in (".svg", ".png"):
                path = path.with_suffix("." + args.format)
        else:
            path = Path(f"{Path(base).with_suffix('')}-{picture}.{args.format}")
        paths.append((picture, check_writable(path, "out")))
    return paths


def _cmd_diagram(args: argparse.Namespace) -> int:
    from .render.export import write_diagram

    params = _collect_params(args)
    paths = _diagram_paths(args)
    trace = simulate(args.scenario, **params)
    for picture, path in paths:
        options = {"axis": args.axis} if picture == "ladder" else {}
        print(write_diagram(trace, picture, path, **options))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from .capture import CaptureWarning, read_capture

    if args.svg:
        for picture in ("state", "ladder"):
            check_writable(f"{args.svg}-{picture}.svg", "svg")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CaptureWarning)
        trace = read_capture(args.capture, port=args.port, relative=args.relative, connection=args.connection)
    for warning in caught:  # what the capture cannot show, one line each, before the picture
        print(f"tcpbook: warning: {_one_line(warning.message)}", file=sys.stderr)
    if args.json:
        print(trace.to_json())
    elif args.svg:
        from .render.export import write_diagram

        for picture in ("state", "ladder"):
            print(write_diagram(trace, picture, Path(f"{args.svg}-{picture}.svg")))
    else:
        from .render.textladder import text_ladder

        print(text_ladder(trace))
    return 0


def _cmd_drill(args: argparse.Namespace) -> int:
    from .packetdrill import drill
    from .profiles import PROFILE_PARAMS

    if args.svg:
        for picture in ("state", "ladder"):
            check_writable(f"{args.svg}-{picture}.svg", "svg")
    overrides = {p.name: p.parse(getattr(args, f"profile_{p.name}")) for p in PROFILE_PARAMS if getattr(args, f"profile_{p.name}") is not None}
    result = drill(args.script, profile=args.profile, strict_options=args.strict_options, tolerance_usecs=args.tolerance_usecs,
                   tolerance_percent=args.tolerance_percent, **overrides)
    if args.json:
        sys.stdout.write(result.trace.to_json() + "\n")
    else:
        sys.stdout.write(result.to_text(timers=args.timers))
    if args.svg:
        from .render.export import write_diagram

        for picture in ("state", "ladder"):
            print(write_diagram(result.trace, picture, Path(f"{args.svg}-{picture}.svg")), file=sys.stderr if args.json else sys.stdout)
    if result.failure is not None:
        f = result.failure
        print(f"tcpbook: drill: {result.script.source}:{f.line}: {_one_line(f.message)}", file=sys.stderr)
    return result.exit_status


_COMMANDS = {"scenarios": lambda args: _cmd_scenarios(), "run": _cmd_run, "diagram": _cmd_diagram, "show": _cmd_show, "drill": _cmd_drill}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse ``argv`` (default ``sys.argv[1:]``), run, return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(_scenario_in(argv)).parse_args(argv)
        return _COMMANDS[args.command](args)
    except BrokenPipeError:  # `tcpbook run … | head`: the reader left; stop quietly, as Unix tools do
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except _UsageError as exc:
        print(f"tcpbook: error: {exc}", file=sys.stderr)
    except (TcpbookError, ValueError) as exc:
        print(f"tcpbook: error: {_one_line(exc)}", file=sys.stderr)
    except OSError as exc:
        print(f"tcpbook: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
    except MemoryError:
        print("tcpbook: error: out of memory: ask for a smaller run", file=sys.stderr)
    return EXIT_USAGE


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # a stdout without a file descriptor (a test's stand-in)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
