"""yt-dlp's PO-token cache kept in Kachay's token service (KachayPCP)."""

import hashlib
import json
import secrets
import time
import urllib.parse

import pytest
from harness import Session
from yt_dlp.extractor.youtube.pot.cache import PoTokenCacheProviderError


def new_key():
    """A cache key as yt-dlp makes them: a sha256 hex digest."""
    return hashlib.sha256(secrets.token_bytes(16)).hexdigest()


def entry(token='AAAA'):
    """A value as yt-dlp stores them: a PoTokenResponse as JSON."""
    return json.dumps({'po_token': token, 'expires_at': int(time.time()) + 3600})


@pytest.fixture
def session(kachay):
    with Session(kachay.url, kachay.key) as session:
        yield session


def test_stored_entry_is_found_until_it_expires(session):
    key, value = new_key(), entry()
    session.cache.store(key, value, int(time.time()) + 2)
    assert session.cache.get(key) == value
    time.sleep(3)
    assert session.cache.get(key) is None


def test_expired_entry_is_not_stored(kachay, session):
    key = new_key()
    session.cache.store(key, entry(), int(time.time()) - 1)
    assert session.cache.get(key) is None
    assert kachay.call('GET', f'/v1/cache/{key}')[0] == 404


def test_deleted_entry_is_gone(session):
    key = new_key()
    session.cache.store(key, entry(), int(time.time()) + 600)
    session.cache.delete(key)
    assert session.cache.get(key) is None
    session.cache.delete(key)


def test_unknown_key_is_a_miss(session):
    assert session.cache.get(new_key()) is None


def test_wrong_key_is_refused_and_stores_nothing(kachay, session):
    key = new_key()
    with Session(kachay.url, 'not-the-key') as stranger:
        with pytest.raises(PoTokenCacheProviderError) as raised:
            stranger.cache.store(key, entry(), int(time.time()) + 600)
        assert raised.value.expected
        assert str(raised.value).startswith("Kachay's token cache refused the credential")
        with pytest.raises(PoTokenCacheProviderError):
            stranger.cache.get(key)
    assert session.cache.get(key) is None


@pytest.mark.parametrize('key, value', [
    ('../../etc/passwd', entry()),
    ('k' * 10 * 1024, entry()),
    (new_key(), 'v' * 20 * 1024),   # over the 16 KiB a value may have
    (new_key(), 'v' * 100 * 1024),  # over the 64 KiB a body may have
], ids=['dot-dot', '10 KB key', '20 KB value', '100 KB value'])
def test_hostile_entry_is_refused(kachay, session, key, value):
    with pytest.raises(PoTokenCacheProviderError) as raised:
        session.cache.store(key, value, int(time.time()) + 600)

    assert str(raised.value).startswith("Kachay's token cache refused the entry: HTTP 4")
    path = f'/v1/cache/{urllib.parse.quote(key, safe="")}'
    status, _ = kachay.call('PUT', path, {'value': value, 'expires_at': int(time.time()) + 600})
    assert status in (400, 413)
    assert kachay.call('GET', path)[0] in (400, 404)
    if len(key) == 64:
        assert session.cache.get(key) is None


def test_service_down_is_a_clear_cache_error():
    with Session('http://127.0.0.1:9', 'some-key') as session, pytest.raises(PoTokenCacheProviderError) as raised:
        session.cache.get(new_key())
    assert raised.value.expected
    assert str(raised.value).startswith("Kachay's token cache at http://127.0.0.1:9 does not answer: ")
