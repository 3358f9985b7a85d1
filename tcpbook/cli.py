"""The ``tcpbook`` command line (also ``python -m tcpbook``).

::

    tcpbook scenarios                          one line per scenario
    tcpbook run SCENARIO [options]             the run as tcpdump-like text
    tcpbook run SCENARIO [options] --json      the run as one JSON document
    tcpbook run SCENARIO [options] --pcap F    also write a pcap of the run
    tcpbook diagram SCENARIO [options] --out F write the state and/or ladder diagram (SVG/PNG)
    tcpbook show CAPTURE [--svg F]             a real capture as a text ladder (or pictures)

Every scenario parameter is a flag with the same name (``syn_retries`` → ``--syn-retries``).
Bad input gives one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import ParameterError, TcpbookError
from .profiles import Profile
from .scenarios import COMMON_DEFAULTS, PARAMETER_HELP, SCENARIOS, simulate

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parse_bool(name: str):  # noqa: ANN202 - argparse type factory
    def parse(text: str) -> bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ParameterError(name, text, "true or false")

    return parse


def _parse_number(name: str, kind: type, *, none_ok: bool = False):  # noqa: ANN202
    def parse(text: str) -> Any:
        if none_ok and text.strip().lower() in ("none", "r2"):
            return None
        try:
            return kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise ParameterError(name, text, what + (" or none" if none_ok else "")) from None

    return parse


def _parameter_types() -> dict[str, Any]:
    """name -> parser for every parameter any scenario accepts."""
    types: dict[str, Any] = {}
    for f in dataclasses.fields(Profile):
        if f.name == "name":
            continue
        t = str(f.type)
        if "bool" in t:
            types[f.name] = _parse_bool(f.name)
        elif "int" in t:
            types[f.name] = _parse_number(f.name, int, none_ok="None" in t)
        else:
            types[f.name] = _parse_number(f.name, float)
    defaults: dict[str, Any] = dict(COMMON_DEFAULTS)
    for sc in SCENARIOS.values():
        defaults.update(sc.defaults)
    for name, default in defaults.items():
        if name in types or name == "drop":
            continue
        if name in ("profile", "closer", "how", "attack_pattern"):
            types[name] = str
        elif isinstance(default, bool):
            types[name] = _parse_bool(name)
        elif isinstance(default, int) or name in ("seed", "isn_client", "isn_server", "old_isn", "clients", "port", "bytes"):
            types[name] = _parse_number(name, int, none_ok=default is None)
        else:
            types[name] = _parse_number(name, float, none_ok=default is None)
    return types


PARAMETER_TYPES = _parameter_types()


def _add_scenario_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario name (see `tcpbook scenarios`)")
    group = parser.add_argument_group("scenario parameters (same names as the Python API)")
    group.add_argument("--drop", action="append", default=None, metavar="RULE", help=PARAMETER_HELP["drop"])
    for name, _parse in PARAMETER_TYPES.items():
        flag = "--" + name.replace("_", "-")
        group.add_argument(flag, dest=name, type=str, default=None, metavar="VALUE", help=PARAMETER_HELP.get(name, f"profile parameter {name}"))


def _collect_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, parse in PARAMETER_TYPES.items():
        raw = getattr(args, name, None)
        if raw is not None:
            params[name] = parse(raw)
    if args.drop:
        params["drop"] = list(args.drop)
    return params


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tcpbook", description="Simulate and draw TCP connection management (RFC 9293, Linux timings).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("scenarios", help="list the scenarios, one line each")
    run = sub.add_parser("run", help="run a scenario and print it as text or JSON")
    _add_scenario_options(run)
    run.add_argument("--json", action="store_true", help="print one JSON document (schema in README)")
    run.add_argument("--timers", action="store_true", help="also print timer events in the text output")
    run.add_argument("--pcap", metavar="FILE", help="also write the run as a pcap file")
    run.add_argument("--vantage", default="wire", choices=("wire", "client", "server"), help="where the pcap is captured")
    diagram = sub.add_parser("diagram", help="write the state and/or ladder diagram of a run (SVG or PNG)")
    _add_scenario_options(diagram)
    diagram.add_argument("--picture", default="both", choices=("state", "ladder", "both"))
    diagram.add_argument("--out", default=None, metavar="PATH", help="output file (.svg/.png); with --picture both, a prefix")
    diagram.add_argument("--format", default="svg", choices=("svg", "png"))
    diagram.add_argument("--axis", default="compressed", choices=("compressed", "linear"), help="ladder time axis")
    show = sub.add_parser("show", help="draw a real capture (pcap/pcapng) with the book's pictures")
    show.add_argument("capture", help="a .pcap or .pcapng file holding one TCP connection")
    show.add_argument("--port", type=int, default=None, help="pick the connection with this port")
    show.add_argument("--svg", metavar="PREFIX", default=None, help="write PREFIX-state.svg and PREFIX-ladder.svg")
    show.add_argument("--json", action="store_true", help="print the imported trace as JSON")
    show.add_argument("--relative", action="store_true", help="number each side's bytes from 0, as Wireshark does")
    return parser


def _cmd_scenarios() -> int:
    width = max(len(name) for name in SCENARIOS)
    for name, sc in SCENARIOS.items():
        print(f"{name:<{width}}  {sc.summary}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    trace = simulate(args.scenario, **_collect_params(args))
    if args.pcap:
        from .pcap import write_pcap

        write_pcap(trace, args.pcap, vantage=args.vantage)
    if args.json:
        print(trace.to_json())
    else:
        sys.stdout.write(trace.to_text(timers=args.timers))
    return 0


def _cmd_diagram(args: argparse.Namespace) -> int:
    from .render import write_diagram

    trace = simulate(args.scenario, **_collect_params(args))
    pictures = ["state", "ladder"] if args.picture == "both" else [args.picture]
    base = args.out or args.scenario
    written = []
    for picture in pictures:
        if args.out and args.picture != "both":
            path = Path(args.out)
            if path.suffix not in (".svg", ".png"):
                path = path.with_suffix("." + args.format)
        else:
            path = Path(f"{Path(base).with_suffix('')}-{picture}.{args.format}")
        options = {"axis": args.axis} if picture == "ladder" else {}
        written.append(write_diagram(trace, picture, path, **options))
    for path in written:
        print(path)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from .capture import read_capture

    trace = read_capture(args.capture, port=args.port, relative=args.relative)
    if args.json:
        print(trace.to_json())
    elif args.svg:
        from .render import write_diagram

        for picture in ("state", "ladder"):
            print(write_diagram(trace, picture, Path(f"{args.svg}-{picture}.svg")))
    else:
        from .render import text_ladder

        print(text_ladder(trace))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse ``argv`` (default ``sys.argv[1:]``), run, return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "scenarios":
            return _cmd_scenarios()
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "diagram":
            return _cmd_diagram(args)
        if args.command == "show":
            return _cmd_show(args)
    except _UsageError as exc:
        print(f"tcpbook: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ParameterError, TcpbookError, ValueError) as exc:
        print(f"tcpbook: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"tcpbook: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `tcpbook run … | head`
        return 0
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
