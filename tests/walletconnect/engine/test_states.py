"""The transition tables: closed is terminal, every target is a real state, roles differ where they must."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from walletconnect.engine.records import PairingState, Role, SessionState
from walletconnect.engine.states import (
    PAIRING_TRANSITIONS,
    SESSION_TRANSITIONS,
    PairingInput,
    SessionInput,
    mermaid,
    pairing_next,
    session_next,
)


@given(
    st.sampled_from(list(Role)),
    st.sampled_from(list(SessionState)),
    st.sampled_from(list(SessionInput)),
)
def test_session_next_is_total_and_closed_is_terminal(
    role: Role, state: SessionState, event: SessionInput
) -> None:
    nxt = session_next(role, state, event)
    assert nxt is None or isinstance(nxt, SessionState)
    if state is SessionState.CLOSED:
        assert nxt is None


@given(st.sampled_from(list(PairingState)), st.sampled_from(list(PairingInput)))
def test_pairing_next(state: PairingState, event: PairingInput) -> None:
    nxt = pairing_next(state, event)
    if state is PairingState.CLOSED:
        assert nxt is None
    elif event in (PairingInput.DELETE, PairingInput.EXPIRE):
        assert nxt is PairingState.CLOSED
    else:
        assert nxt is not None


def test_roles() -> None:
    w, d = SESSION_TRANSITIONS[Role.WALLET], SESSION_TRANSITIONS[Role.DAPP]
    assert SessionInput.SEND_EVENT in w[SessionState.SETTLED]
    assert SessionInput.SEND_EVENT not in d[SessionState.SETTLED]
    assert SessionInput.SEND_UPDATE not in d[SessionState.SETTLED]
    assert SessionInput.SEND_REQUEST not in w[SessionState.SETTLED]
    assert (
        session_next(Role.WALLET, SessionState.SETTLING, SessionInput.RECEIVE_SETTLE_ACK)
        is SessionState.SETTLED
    )
    assert session_next(Role.WALLET, SessionState.SETTLED, SessionInput.RECEIVE_SETTLE_ACK) is None
    assert session_next(Role.DAPP, SessionState.SETTLING, SessionInput.SEND_REQUEST) is None
    assert set(PAIRING_TRANSITIONS) == set(PairingState)
    assert "settled --> closed: delete" in mermaid(Role.WALLET)
