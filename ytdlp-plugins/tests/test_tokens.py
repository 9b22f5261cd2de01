"""PO tokens through Kachay's token service: minted once, shared, renewed, refused."""

import threading
import time

import pytest
from fake_minter import decode_token
from harness import Session, new_video_id, new_visitor_data, pot_request, run_clients
from yt_dlp.extractor.youtube.pot.provider import PoTokenProviderError


@pytest.mark.parametrize('context, binding', [
    ('player', 'video_id'),  # yt-dlp keeps these in memory only (WRITE_FIRST): the service's cache serves
    ('gvs', 'visitor_data'),  # these go to every cache: the second run finds it in Kachay's (PCP)
])
def test_two_ytdlp_runs_share_one_mint(kachay, minter, context, binding):
    ask = {'url': kachay.url, 'key': kachay.key, 'context': context}
    ask['video_id'] = new_video_id()
    if binding == 'visitor_data':
        ask['visitor_data'] = new_visitor_data()
    minted_before = kachay.health()['pot_service']['minted']

    [first] = run_clients(ask)
    [second] = run_clients(ask)

    assert first['token'] and second['token'] == first['token']
    assert minter.mints == 1
    assert decode_token(first['token']) == (ask[binding], 1)
    assert kachay.health()['pot_service']['minted'] - minted_before == 1


def test_simultaneous_requests_mint_once(kachay, minter):
    minter.delay = 1.0
    request = pot_request('player', video_id=new_video_id())
    sessions = [Session(kachay.url, kachay.key) for _ in range(4)]
    tokens, errors = [], []
    barrier = threading.Barrier(len(sessions))

    def ask(session):
        barrier.wait()
        try:
            # The provider itself: yt-dlp's process-wide memory cache would
            # otherwise answer all but the first thread.
            tokens.append(session.provider.request_pot(request.copy()).po_token)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=ask, args=(session,)) for session in sessions]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started
    for session in sessions:
        session.close()

    assert not errors
    assert len(tokens) == 4 and len(set(tokens)) == 1
    assert minter.mints == 1
    assert elapsed < 3, f'the requests took {elapsed:.1f} s: they waited for each other, one mint after another'


def test_simultaneous_ytdlp_runs_mint_once(kachay, minter):
    minter.delay = 1.0
    ask = {'url': kachay.url, 'key': kachay.key, 'context': 'player', 'video_id': new_video_id(),
           'start_at': time.time() + 4}

    answers = run_clients(*[ask] * 3)

    assert len({answer['token'] for answer in answers}) == 1 and answers[0]['token']
    assert minter.mints == 1


def test_expired_token_is_minted_anew(kachay, minter):
    minter.lifetime = 2
    request = pot_request('gvs', visitor_data=new_visitor_data())
    with Session(kachay.url, kachay.key) as session:
        first = session.get_po_token(request)
        assert session.get_po_token(request) == first
        time.sleep(3)
        second = session.get_po_token(request)

    assert minter.mints == 2
    assert decode_token(first)[1] == 1 and decode_token(second)[1] == 2


def test_bypass_cache_mints_anew_and_replaces_the_token(kachay, minter):
    request = pot_request('player', video_id=new_video_id())
    with Session(kachay.url, kachay.key) as session:
        first = session.provider.request_pot(request.copy())
        again = session.provider.request_pot(request.copy())
        request.bypass_cache = True
        fresh = session.provider.request_pot(request.copy())
        request.bypass_cache = False
        after = session.provider.request_pot(request.copy())

    assert again.po_token == first.po_token
    assert fresh.po_token != first.po_token and after.po_token == fresh.po_token
    assert minter.mints == 2
    assert [body['bypass_cache'] for body in minter.requests] == [False, True]


def test_minter_sees_the_request(kachay, minter):
    visitor_data = new_visitor_data()
    request = pot_request('gvs', visitor_data=visitor_data, proxy='socks5://127.0.0.1:1080', verify_tls=False)
    with Session(kachay.url, kachay.key) as session:
        session.provider.request_pot(request.copy())

    [body] = minter.requests
    assert body['content_binding'] == visitor_data
    assert body['proxy'] == 'socks5://127.0.0.1:1080'
    assert body['disable_tls_verification'] is True
    assert body['innertube_context']['client']['clientName'] == 'WEB'


def test_minter_down_is_a_clear_error(kachay, minter):
    minter.stop()
    request = pot_request('player', video_id=new_video_id())
    with Session(kachay.url, kachay.key) as session:
        with pytest.raises(PoTokenProviderError) as raised:
            session.provider.request_pot(request.copy())
        token = session.get_po_token(request)

    message = str(raised.value)
    assert raised.value.expected
    assert message.startswith("Kachay's token service could not get a PO token: ")
    assert minter.url in message and '\n' not in message
    assert token is None
    warnings = [line for line in session.log.lines if 'Error fetching PO Token from "kachay" provider' in line]
    assert warnings and "Kachay's token service could not get a PO token" in warnings[0]


def test_service_down_is_a_clear_error(minter):
    with Session('http://127.0.0.1:9', 'some-key') as session, pytest.raises(PoTokenProviderError) as raised:
        session.provider.request_pot(pot_request('player', video_id=new_video_id()))

    assert raised.value.expected
    assert str(raised.value).startswith("Kachay's token service at http://127.0.0.1:9 does not answer: ")
    assert minter.mints == 0


def test_wrong_key_is_refused(kachay, minter):
    with Session(kachay.url, 'not-the-key') as session, pytest.raises(PoTokenProviderError) as raised:
        session.provider.request_pot(pot_request('player', video_id=new_video_id()))

    assert raised.value.expected
    assert str(raised.value).startswith("Kachay's token service refused the credential")
    assert minter.mints == 0


def test_without_mint_setting_the_provider_stays_out(kachay, minter):
    request = pot_request('player', video_id=new_video_id())
    with Session(kachay.url, kachay.key, mint='0') as session:
        assert not session.provider.is_available()
        assert session.cache.is_available()
        assert session.get_po_token(request) is None
    assert minter.mints == 0


def test_logs_never_show_the_key_or_a_token_of_ours(kachay, minter):
    request = pot_request('gvs', visitor_data=new_visitor_data())
    with Session(kachay.url, kachay.key, trace=True) as session:
        token = session.get_po_token(request)
        # yt-dlp's memory cache is process-wide; emptied, the token comes
        # from Kachay's cache, as in the next yt-dlp run.
        session.director.cache.cache_providers['MemoryLRU'].cache.clear()
        assert session.get_po_token(request) == token

    ours = [line for line in session.log.lines if '[pot:kachay]' in line or '[pot:cache:kachay]' in line]
    assert any('Requesting gvs PO Token for web client from Kachay' in line for line in ours)
    assert any('GET ' in line for line in ours if '[pot:cache:kachay]' in line)
    assert not [line for line in session.log.lines if kachay.key in line]
    assert not [line for line in ours if token in line]
