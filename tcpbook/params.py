"""Parameters, declared once: type, default, meaning and allowed range.

Every knob of a run — ``loss``, ``rtt``, ``syn_retries``, ``bytes`` … — is a :class:`Param`.
The one declaration drives everything that touches it:

* validation in :func:`tcpbook.simulate` (a wrong value raises
  :class:`~tcpbook.errors.ParameterError` naming the parameter, the value and what is
  allowed — the same sentence the command line prints);
* the command line's ``--flags``, their parsing and their ``--help`` lines;
* the explorers' controls (their help text and the range a live slider may cover);
* the API documentation's parameter tables.

Every range is finite, so no run can be asked to wait forever or to send without end.

>>> loss = Param("loss", float, 0.0, "probability that a segment is lost", low=0, high=1)
>>> loss.check(0.25)
0.25
>>> try:
...     loss.check(1.5)
... except ParameterError as error:
...     print(error)
loss=1.5 is not allowed: expected a number from 0 to 1
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import ParameterError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_NONE = ("none", "null")


def _fmt(x: float) -> str:
    """A bound as people write it: 0, 0.2, 65535, 4294967295, 1e+06; an integer bound
    whole (a seed's -9223372036854775808, not -9.22337e+18)."""
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    if float(x).is_integer() and abs(x) < 1e12:
        return str(int(x))
    return f"{x:g}"


@dataclass(frozen=True)
class Param:
    """One parameter of a run.

    ``kind`` is ``bool``, ``int``, ``float``, ``str`` or ``list`` (a list of text items,
    such as drop rules).  ``low``/``high`` bound a number (inclusive); ``choices`` list the
    allowed strings.  ``none_means`` says what ``None`` stands for when ``None`` is allowed
    (``"the profile's value"``, ``"no limit in retries: the R2 time"`` …); empty means
    ``None`` is not allowed.  ``unit`` is shown in help texts (``"s"``, ``"bytes"``).
    ``item_check`` validates each item of a list parameter.
    """

    name: str
    kind: type
    default: Any
    help: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    none_means: str = ""
    item_check: Callable[[str], Any] | None = field(default=None, compare=False)

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--syn-retries`` for ``syn_retries``."""
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        """What is allowed, in words (the end of an error message)."""
        if self.kind is bool:
            text = "true or false"
        elif self.choices:
            text = "one of " + ", ".join(self.choices)
        elif self.kind in (int, float):
            what = "an integer" if self.kind is int else "a number"
            if self.low is not None and self.high is not None:
                text = f"{what} from {_fmt(self.low)} to {_fmt(self.high)}"
            elif self.low is not None:
                text = f"{what} >= {_fmt(self.low)}"
            else:
                text = what
            if self.unit:
                text += f" ({self.unit})"
        elif self.kind is list:
            text = "a list"
        else:
            text = "text"
        if self.none_means:
            text += f", or none ({self.none_means})"
        return text

    def with_default(self, default: Any) -> Param:
        """The same parameter with another default (a scenario's own)."""
        return Param(self.name, self.kind, default, self.help, self.unit, self.low, self.high, self.choices, self.none_means, self.item_check)

    def check(self, value: Any) -> Any:
        """``value`` if allowed (ints become floats for a float parameter), else
        :class:`~tcpbook.errors.ParameterError`."""
        if value is None:
            if self.none_means:
                return None
            raise ParameterError(self.name, value, self.allowed())
        kind = self.kind
        if kind is bool:
            if not isinstance(value, bool):
                raise ParameterError(self.name, value, self.allowed())
            return value
        if kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise ParameterError(self.name, value, self.allowed())
            return value
        if kind is list:
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)):
                raise ParameterError(self.name, value, self.allowed())
            return tuple(self.item_check(item) if self.item_check else item for item in items)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
            raise ParameterError(self.name, value, self.allowed())
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(self.name, value, self.allowed())
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ParameterError(self.name, value, self.allowed())
        return float(value) if kind is float else value

    def parse(self, text: str) -> Any:
        """Read ``text`` from the command line as this parameter's value (then check it)."""
        raw = text.strip()
        if self.none_means and raw.lower() in _NONE:
            return None
        kind = self.kind
        if kind is bool:
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ParameterError(self.name, text, self.allowed())
        if kind is int:
            try:
                value: Any = int(raw)
            except ValueError:
                raise ParameterError(self.name, text, self.allowed()) from None
        elif kind is float:
            try:
                value = float(raw)
            except ValueError:
                raise ParameterError(self.name, text, self.allowed()) from None
        elif kind is list:
            value = [item for item in raw.split(",") if item.strip()]
        else:
            value = raw
        return self.check(value)

    def describe(self) -> str:
        """One line for help texts: meaning, default and what is allowed."""
        default = "none" if self.default is None else (list(self.default) if isinstance(self.default, tuple) else self.default)
        return f"{self.help} (default {default}; {self.allowed()})"


class ParamSet:
    """An ordered collection of parameters, looked up by name."""

    def __init__(self, params: Iterable[Param]) -> None:
        self._params: dict[str, Param] = {}
        for p in params:
            self._params[p.name] = p  # a later declaration (a scenario's own) overrides

    def __iter__(self):  # noqa: ANN204
        return iter(self._params.values())

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __len__(self) -> int:
        return len(self._params)

    def names(self) -> list[str]:
        return list(self._params)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self._params.values()}

    def check_all(self, given: dict[str, Any], *, owner: str) -> dict[str, Any]:
        """Every parameter's value: the defaults, overridden by ``given`` (each checked).
        An unknown name raises a :class:`ParameterError` listing the known ones."""
        for key in given:
            if key not in self._params:
                raise ParameterError(key, given[key], f"a parameter of {owner}: {', '.join(sorted(self._params))}")
        values = {}
        for name, p in self._params.items():
            values[name] = p.check(given[name]) if name in given else p.default
        return values
