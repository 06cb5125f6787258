"""coalesce_changes: one write per record, same end state as applying every change in order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from walletconnect.storage import (
    Delete,
    Put,
    RecordKind,
    StoreChange,
    StoreSnapshot,
    apply_changes,
    coalesce_changes,
)

_KEYS = st.sampled_from(["a" * 64, "b" * 64, "c" * 64])
_CHANGE: st.SearchStrategy[StoreChange] = st.one_of(
    st.builds(Put, st.just(RecordKind.SYM_KEY), _KEYS, st.binary(min_size=32, max_size=32)),
    st.builds(Delete, st.just(RecordKind.SYM_KEY), _KEYS),
    st.builds(Put, st.just(RecordKind.PRIVATE_KEY), _KEYS, st.binary(min_size=32, max_size=32)),
    st.builds(Delete, st.just(RecordKind.PRIVATE_KEY), _KEYS),
)


@given(st.lists(_CHANGE, max_size=30))
def test_coalesced_changes_leave_the_same_state(changes: list[StoreChange]) -> None:
    every, coalesced = StoreSnapshot(), StoreSnapshot()
    apply_changes(every, changes)
    apply_changes(coalesced, coalesce_changes(changes))
    assert every == coalesced
    records = [(c.kind, c.key) for c in coalesce_changes(changes)]
    assert len(records) == len(set(records)) == len({(c.kind, c.key) for c in changes})


def test_a_put_then_delete_is_one_delete() -> None:
    changes: list[StoreChange] = [
        Put(RecordKind.SYM_KEY, "a" * 64, b"\1" * 32),
        Put(RecordKind.SYM_KEY, "b" * 64, b"\2" * 32),
        Delete(RecordKind.SYM_KEY, "a" * 64),
    ]
    assert coalesce_changes(changes) == [changes[1], changes[2]]
