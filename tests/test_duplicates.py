"""The duplicate rule's index on its own: who keeps a company, who loses, and what each loser is told.

A rank is (key fields filled in, as_of ordinal, -position): more complete wins, then later as_of,
then the record read first. The batch tests exercise the same rule end to end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from screener.jobs.batch.duplicates import Index, Offer, Settlement


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    with contextlib.closing(Index(tmp_path / "index.db")) as opened:
        yield opened


def offer(key: str, seq: int, filled: int = 0, as_of: int = 0, *identities: str, verdict: str = "review", memo=False):
    return Offer(
        key, identities or (f"name:{key}",), (filled, as_of, -seq), seq, f"in{seq}.jsonl", seq + 1, verdict, memo
    )


def kept(index: Index) -> dict[int, tuple[str, int]]:
    """Each settled record's position → (the key kept, the line of the record kept)."""
    return {s.seq: (s.key, s.line) for s in index.settlements()}


def test_new_companies_lose_nothing(index: Index) -> None:
    assert index.offer([offer("a", 0), offer("b", 1), offer("c", 2, 0, 0, "name:c", "domain:c.ai")]) == []
    assert list(index.settlements()) == []
    assert [index.lost(seq) for seq in range(3)] == [False, False, False]


@pytest.mark.parametrize(
    ("first", "second", "winner"),
    [
        ((3, 0), (2, 9), 0),  # more key fields filled in beats a later as_of
        ((2, 0), (3, 0), 1),
        ((2, 5), (2, 4), 0),  # same fields: the later as_of wins
        ((2, 4), (2, 5), 1),
        ((2, 5), (2, 5), 0),  # a full tie: the record read first wins
    ],
)
def test_the_rank_decides_in_order(index: Index, first, second, winner: int) -> None:
    losers = index.offer([offer("a", 0, *first, verdict="pass"), offer("a", 1, *second, verdict="strong-fit")])
    loser = 1 - winner
    assert losers == [("pass", False) if loser == 0 else ("strong-fit", False)]
    assert [index.lost(seq) for seq in (0, 1)] == [loser == 0, loser == 1]
    assert kept(index) == {0: ("a", winner + 1), 1: ("a", winner + 1)}
    (won,) = [s for s in index.settlements() if s.won]
    assert (won.seq, won.source) == (winner, f"in{winner}.jsonl")


def test_the_same_holds_across_offers(index: Index) -> None:
    """Records of one company offered in different chunks meet their earlier best."""
    assert index.offer([offer("a", 0, 1)]) == []
    assert index.offer([offer("a", 1, 5, verdict="pass")]) == [("review", False)]  # displaces the first
    assert index.offer([offer("a", 2, 4, verdict="strong-fit", memo=True)]) == [("strong-fit", True)]
    assert [index.lost(seq) for seq in range(3)] == [True, False, True]
    assert list(index.settlements()) == [
        Settlement(0, "a", "a", "in1.jsonl", 2, False, False),
        Settlement(1, "a", "a", "in1.jsonl", 2, True, True),  # a loser wrote a memo at its key
        Settlement(2, "a", "a", "in1.jsonl", 2, True, False),
    ]


def test_within_one_offer_an_earlier_record_is_met(index: Index) -> None:
    losers = index.offer([offer("x", 0), offer("a", 1, 1), offer("y", 2), offer("a", 3, 2), offer("a", 4, 0)])
    assert losers == [("review", False), ("review", False)]
    assert [index.lost(seq) for seq in range(5)] == [False, True, False, False, True]
    assert kept(index) == {1: ("a", 4), 3: ("a", 4), 4: ("a", 4)}


def test_a_record_joins_two_companies_and_the_best_of_all_is_kept(index: Index) -> None:
    index.offer([offer("d.ai", 0, 1, 0, "name:d", "domain:d.ai"), offer("e.io", 1, 3, 0, "name:e", "domain:e.io")])
    # named D at e.io: D's group (first seen) absorbs E's; E's record is the best of the three
    losers = index.offer([offer("e.io", 2, 2, 0, "name:d", "domain:e.io", memo=True)])
    assert sorted(losers) == [("review", False), ("review", True)]
    assert [index.lost(seq) for seq in range(3)] == [True, False, True]
    settled = {s.seq: (s.key, s.own_key, s.won, s.memo) for s in index.settlements()}
    assert settled == {
        0: ("e.io", "d.ai", False, False),  # lost under its own key d.ai
        1: ("e.io", "e.io", True, True),  # the loser at seq 2 wrote a memo at e.io
        2: ("e.io", "e.io", False, True),
    }
    # every identity of all three now leads to the one company
    assert index.offer([offer("z", 3, 0, 0, "domain:d.ai")]) == [("review", False)]
    assert index.offer([offer("z", 4, 9, 0, "name:e")]) == [("review", False)]  # better: the old best loses
    assert kept(index)[4] == ("z", 5)


def test_a_merged_group_keeps_its_earlier_losers(index: Index) -> None:
    index.offer([offer("a", 0, 5, 0, "name:a"), offer("a", 1, 1, 0, "name:a")])  # 1 loses to 0
    index.offer([offer("b", 2, 9, 0, "name:b")])
    index.offer([offer("c", 3, 0, 0, "name:a", "name:b")])  # joins a and b: b's record (9) wins
    assert [index.lost(seq) for seq in range(4)] == [True, True, False, True]
    assert kept(index) == {0: ("b", 3), 1: ("b", 3), 2: ("b", 3), 3: ("b", 3)}


def test_settlements_are_in_input_order_and_memo_flags_follow_keys(index: Index) -> None:
    index.offer([offer("k", 0, 1, memo=True), offer("other", 1, 0, 0, "name:k", memo=True), offer("k", 2, 5)])
    settled = list(index.settlements())
    assert [s.seq for s in settled] == [0, 1, 2]
    assert [(s.own_key, s.memo, s.won) for s in settled] == [
        ("k", True, False),
        ("other", True, False),
        ("k", True, True),  # a loser under the winner's key ("k") wrote a memo
    ]


def test_a_winner_whose_losers_wrote_no_memo_at_its_key_is_told_so(index: Index) -> None:
    index.offer([offer("k", 0, 1), offer("other", 1, 0, 0, "name:k", memo=True)])
    won = next(s for s in index.settlements() if s.won)
    assert (won.key, won.memo) == ("k", False)  # the memo was written under "other", not "k"


def test_a_merged_group_best_that_wins_keeps_everything_it_carried(index: Index) -> None:
    def record(key: str, seq: int, filled: int, *identities: str, memo: bool) -> Offer:
        return Offer(key, identities, (filled, 0, -seq), seq, f"in{seq}.jsonl", seq + 1, "review", memo, f"hash{seq}")

    index.offer([record("a", 0, 1, "name:a", memo=False), record("b", 1, 9, "name:b", memo=True)])
    # c joins a and b: a's group (seen first) absorbs b's, whose record (9 fields) beats a's and c's
    index.offer([record("c", 2, 0, "name:a", "name:b", memo=False)])
    settled = {s.seq: (s.key, s.source, s.line, s.won, s.content, s.kept_content) for s in index.settlements()}
    assert settled == {
        0: ("b", "in1.jsonl", 2, False, "hash0", "hash1"),
        1: ("b", "in1.jsonl", 2, True, "hash1", "hash1"),
        2: ("b", "in1.jsonl", 2, False, "hash2", "hash1"),
    }
    # a better record of the company: b, the best so far, loses with its memo and its hash
    assert index.offer([record("b", 3, 20, "name:b", memo=False)]) == [("review", True)]
    lost = {s.seq: (s.own_key, s.memo, s.content, s.kept_content) for s in index.settlements() if not s.won}
    assert lost[1] == ("b", True, "hash1", "hash3")
