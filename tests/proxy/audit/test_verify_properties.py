from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.audit.record import ChainHead
from proxy.audit.verify import verify_chain

lines = st.lists(
    st.one_of(
        st.text(max_size=200).map(lambda s: s + "\n"),
        st.binary(max_size=200),
        st.just('{"seq":0,"prev_hash":"00","hash":"x"}\n'),
        st.just('{"seq": 1e400, "hash": "a", "prev_hash": "b"}\n'),
    ),
    max_size=8,
)


@settings(max_examples=200)
@given(lines, st.none() | st.builds(ChainHead, st.integers(0, 10), st.text(max_size=64)))
def test_verify_chain_never_raises_on_garbage(
    data: list[str | bytes], head: ChainHead | None
) -> None:
    result = verify_chain(data, head)
    assert result.ok == (result.line is None)
    if data and any(line not in ("", "\n", b"", b"\n") for line in data):
        assert not result.ok or result.count > 0
