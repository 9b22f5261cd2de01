"""The plugin as yt-dlp runs it: a real YoutubeDL, its YouTube extractor and
the PO-token director that extractor builds, with this checkout's plugin.

yt-dlp loads plugins once per process, into process-wide registries, so the
plugin directories are chosen once, before the first YoutubeDL: this
checkout's plugins only, or also yt-dlp's default directories (where an
installed bgutil plugin lives). yt-dlp's memory cache of PO tokens is
process-wide as well: tests use content bindings of their own.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import string
import subprocess
import sys
from pathlib import Path

from yt_dlp import YoutubeDL
from yt_dlp.extractor.youtube.pot.provider import PoTokenContext, PoTokenRequest
from yt_dlp.globals import all_plugins_loaded, plugin_dirs
from yt_dlp.plugins import load_all_plugins

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parents[1]
# What yt-dlp gets as --plugin-dirs: a directory of plugin packages.
PLUGIN_DIRS = REPO / 'ytdlp-plugins'
PLUGIN_FILE = PLUGIN_DIRS / 'kachay' / 'yt_dlp_plugins' / 'extractor' / 'kachay_pot.py'


def load_plugins(*, with_default=False):
    """Loads this checkout's plugins (and the default directories' with with_default), once per process."""
    if all_plugins_loaded.value:
        return
    plugin_dirs.value = ['default', str(PLUGIN_DIRS)] if with_default else [str(PLUGIN_DIRS)]
    load_all_plugins()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


_ID_ALPHABET = string.ascii_letters + string.digits + '-_'


def new_video_id() -> str:
    return ''.join(secrets.choice(_ID_ALPHABET) for _ in range(11))


def new_visitor_data() -> str:
    """Visitor data shaped like YouTube's (a protobuf whose field 1 is an 11-character visitor ID)."""
    return base64.urlsafe_b64encode(b'\n\x0b' + new_video_id().encode() + b'(\x9c\xd6\xb6\xc2\x06').decode()


def pot_request(context, *, video_id=None, visitor_data=None, bypass_cache=False,
                proxy=None, source_address=None, verify_tls=True):
    """A PoTokenRequest as YoutubeIE._fetch_po_token builds one for the web client."""
    return PoTokenRequest(
        context=PoTokenContext(context),
        innertube_context={'client': {
            'clientName': 'WEB',
            'clientVersion': '2.20250101',
            'remoteHost': '203.0.113.7',
            'visitorData': visitor_data,
            'hl': 'en',
        }},
        innertube_host='www.youtube.com',
        internal_client_name='web',
        player_url='https://www.youtube.com/s/player/0123abcd/player_ias.vflset/en_US/base.js',
        visitor_data=visitor_data,
        video_id=video_id,
        request_proxy=proxy,
        request_source_address=source_address,
        request_verify_tls=verify_tls,
        bypass_cache=bypass_cache,
    )


class Lines:
    """A YoutubeDL logger that keeps every line."""

    def __init__(self):
        self.lines = []

    def debug(self, message):
        self.lines.append(message)

    info = warning = error = debug


class Session:
    """One YoutubeDL with the Kachay settings, as one yt-dlp run has it."""

    def __init__(self, url, key, mint='1', *, trace=False, **params):
        load_plugins()
        self.log = Lines()
        extractor_args = {'youtubepot-kachay': {'url': [url], 'key': [key], 'mint': [mint]}}
        if trace:
            extractor_args['youtube'] = {'pot_trace': ['true']}
        self.ydl = YoutubeDL({
            'extractor_args': extractor_args,
            'logger': self.log,
            'verbose': trace,
            'ignoreconfig': True,
            'cachedir': False,
            **params,
        }, auto_init='no_verbose_header')
        self.ie = self.ydl.get_info_extractor('Youtube')
        self.ie.initialize()
        self.director = self.ie._pot_director
        self.provider = self.director.providers['Kachay']
        self.cache = self.director.cache.cache_providers['Kachay']

    def get_po_token(self, request):
        """The token yt-dlp would use, asked the way YoutubeIE asks: caches first, then providers."""
        return self.director.get_po_token(request)

    def close(self):
        self.ydl.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run_clients(*requests: dict, timeout=120.0) -> list[dict]:
    """pot_client.py in a process of its own per request, all at once: their answers."""
    processes = [
        subprocess.Popen(
            [sys.executable, str(TESTS / 'pot_client.py'), json.dumps(request)],
            cwd=TESTS, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for request in requests]
    answers = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        assert process.returncode == 0, f'pot_client.py exited with {process.returncode}:\n{err}'
        answers.append(json.loads(out.splitlines()[-1]))
    return answers
