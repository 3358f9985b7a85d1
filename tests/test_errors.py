"""Errors name the parameter, the value and what is allowed."""

import pytest

from tcpbook.errors import (
    ConnectionClosing,
    ConnectionDoesNotExist,
    ParameterError,
    check_nonnegative,
    check_positive,
    check_probability,
)


def test_parameter_error_is_a_value_error_with_a_clear_message():
    err = ParameterError("loss", 1.5, "a probability between 0 and 1")
    assert isinstance(err, ValueError)
    assert str(err) == "loss=1.5 is not allowed: expected a probability between 0 and 1"
    assert (err.name, err.value) == ("loss", 1.5)


def test_checks():
    assert check_probability("p", 0) == 0.0
    for bad in (-0.1, 1.01, "0.5", True, float("nan")):
        with pytest.raises(ParameterError, match="p="):
            check_probability("p", bad)
    assert check_nonnegative("n", 0, integer=True) == 0
    with pytest.raises(ParameterError, match="an integer >= 0"):
        check_nonnegative("n", 1.5, integer=True)
    assert check_nonnegative("n", None, allow_none=True) is None
    with pytest.raises(ParameterError, match=">= 1"):
        check_positive("mss", 0, integer=True, minimum=1)


def test_rfc_wording_of_user_errors():
    assert "connection does not exist" in str(ConnectionDoesNotExist("SEND"))
    assert "connection closing" in str(ConnectionClosing("SEND"))
