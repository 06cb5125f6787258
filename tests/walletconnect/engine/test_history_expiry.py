"""JsonRpcHistory expiry: the cached lower bound never hides an expired record nor keeps a deadline wrong."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from walletconnect.engine.history import JsonRpcHistory
from walletconnect.engine.records import HistoryRecord
from walletconnect.storage import StoreChange

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from("ab"), st.integers(0, 50), st.integers(0, 100)),
        st.tuples(st.just("expire"), st.just(""), st.just(0), st.integers(0, 100)),
        st.tuples(st.just("drop"), st.sampled_from("ab"), st.just(0), st.just(0)),
        st.tuples(st.just("answer"), st.sampled_from("ab"), st.integers(0, 50), st.just(0)),
    ),
    max_size=60,
)


@given(ops)
def test_expiry_matches_a_full_scan(steps: list[tuple[str, str, int, int]]) -> None:
    changes: list[StoreChange] = []
    history = JsonRpcHistory(changes.append)
    model: dict[tuple[str, int], int] = {}
    for op, topic, rpc_id, value in steps:
        if op == "add" and (topic, rpc_id) not in model:
            history.receive_request(topic, rpc_id, "wc_sessionRequest", value)
            model[(topic, rpc_id)] = value
        elif op == "expire":
            gone = {(r.topic, r.id) for r in history.expire(value)}
            assert gone == {k for k, exp in model.items() if exp <= value}
            model = {k: exp for k, exp in model.items() if exp > value}
        elif op == "drop":
            history.drop_topic(topic)
            model = {k: exp for k, exp in model.items() if k[0] != topic}
        elif op == "answer" and (topic, rpc_id) in model:
            history.answer(topic, rpc_id, "{}")
        deadline = history.next_deadline()
        true_min = min(model.values(), default=None)
        if true_min is not None:  # never late (it may be early once after a drop)
            assert deadline is not None
            assert deadline <= true_min
    assert {(r.topic, r.id) for r in history} == set(model)


def test_deadline_is_exact_again_after_expire() -> None:
    history = JsonRpcHistory(lambda _change: None)
    history.restore(
        {
            r.key: r
            for r in (
                HistoryRecord("t", 1, "wc_sessionRequest", "in", 10),
                HistoryRecord("t", 2, "wc_sessionRequest", "in", 20),
            )
        }
    )
    assert history.next_deadline() == 10
    history.drop_topic("t")
    history.receive_request("u", 3, "wc_sessionRequest", 30)
    assert history.expire(15) == []  # the stale bound (10) costs one scan, nothing else
    assert history.next_deadline() == 30
    assert [r.id for r in history.expire(30)] == [3]
    assert history.next_deadline() is None
