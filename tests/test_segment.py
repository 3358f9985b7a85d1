"""Segments: sequence space, kinds, flag names."""

from tcpbook.segment import Flag, Segment, flag_names, parse_flags, seq_add, seq_diff, seq_le, seq_lt


def test_syn_and_fin_consume_one_sequence_number_each():
    assert Segment("a", "b", 1, 2, 0, 0, Flag.SYN).seg_len == 1
    assert Segment("a", "b", 1, 2, 0, 0, Flag.FIN | Flag.ACK, b"xy").seg_len == 3
    assert Segment("a", "b", 1, 2, 0, 0, Flag.ACK).seg_len == 0


def test_kinds_and_names():
    assert Segment("a", "b", 1, 2, 0, 0, Flag.SYN | Flag.ACK).kind == "SYN-ACK"
    assert Segment("a", "b", 1, 2, 0, 0, Flag.ACK | Flag.PSH, b"x").kind == "DATA"
    assert flag_names(Flag.ACK | Flag.SYN) == ["SYN", "ACK"]
    assert parse_flags(["FIN", "ACK"]) == Flag.FIN | Flag.ACK
    assert Segment("a", "b", 1, 2, 7, 9, Flag.SYN | Flag.ACK, mss=1460).describe() == "SYN,ACK seq=7 ack=9 win=65535 mss=1460 len=0"


def test_sequence_arithmetic_wraps():
    assert seq_add(2**32 - 1, 2) == 1
    assert seq_lt(2**32 - 1, 1) and not seq_lt(1, 2**32 - 1)
    assert seq_le(5, 5)
    assert seq_diff(1, 2**32 - 1) == 2 and seq_diff(2**32 - 1, 1) == -2
