"""The real Kachay server and a fake bgutil minter behind it.

The server binary comes from KACHAY_SERVER_BIN, else <repo>/target/debug/server
(CI builds it before pytest; the tests fail without it). The server gives the
token service's address to yt-dlp only, on its command line, and the key in
its environment (KACHAY_POT_KEY), so the tests run the server with YTDLP set
to a wrapper that writes down both and then runs yt-dlp; `GET /api/health`
makes the server run it.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import harness
import pytest
from fake_minter import FakeMinter

harness.load_plugins()

SERVER_BIN = Path(os.environ.get('KACHAY_SERVER_BIN') or harness.REPO / 'target' / 'debug' / 'server')
START_TIMEOUT = 90.0

# No proxy, whatever the environment says: everything here is on 127.0.0.1.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method, url, body=None, headers=None, timeout=30.0):
    """(status, JSON body or None) of a request; HTTP errors are answers too."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header('Content-Type', 'application/json')
    try:
        with _direct.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    return status, (json.loads(raw) if raw.strip() else None)


def _extractor_settings(argv, ie_key):
    """The settings of `--extractor-args IE_KEY:a=1;b=2` in an argv, as a dict."""
    values = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == '--extractor-args']
    values += [arg.split('=', 1)[1] for arg in argv if arg.startswith('--extractor-args=')]
    settings = {}
    for value in values:
        key, _, args = value.partition(':')
        if key.strip().lower() != ie_key:
            continue
        for pair in args.split(';'):
            name, _, setting = pair.partition('=')
            settings[name.strip()] = setting.strip().replace(r'\,', ',')
    return settings


@dataclass
class Kachay:
    """A running Kachay server and what it told yt-dlp."""

    process: subprocess.Popen
    web_url: str
    log_path: Path
    argv_log: Path
    # From the yt-dlp command line of the server's health check:
    argv: list = field(default_factory=list)
    url: str = ''
    key: str = ''
    mint: str = ''
    plugin_dirs: list = field(default_factory=list)

    def health(self):
        status, answer = http('GET', f'{self.web_url}/api/health', timeout=60.0)
        assert status == 200, f'GET /api/health answered {status}: {answer}'
        return answer

    def call(self, method, path, body=None, *, key=None):
        """A request to the token service, with the server's key unless another is given."""
        headers = {'Authorization': f'Bearer {self.key if key is None else key}'}
        return http(method, f'{self.url}{path}', body, headers)

    def log_tail(self, lines=40):
        return '\n'.join(self.log_path.read_text(errors='replace').splitlines()[-lines:])

    def read_ytdlp_argv(self):
        lines = self.argv_log.read_text().splitlines() if self.argv_log.exists() else []
        assert lines, f'the server never ran yt-dlp (YTDLP wrapper). Server log:\n{self.log_tail()}'
        run = json.loads(lines[-1])
        self.argv = run['argv']
        settings = _extractor_settings(self.argv, 'youtubepot-kachay')
        self.url, self.mint = settings.get('url', ''), settings.get('mint', '')
        self.key = run['key'] or ''
        assert 'key' not in settings, 'the key must not be on the command line: ' + shlex.join(self.argv)
        assert not (self.key and any(self.key in arg for arg in self.argv)), 'the key is on the command line'
        self.plugin_dirs = [self.argv[i + 1] for i, arg in enumerate(self.argv[:-1]) if arg == '--plugin-dirs']


def _write_ytdlp_wrapper(directory: Path, argv_log: Path) -> Path:
    wrapper = directory / 'yt-dlp'
    wrapper.write_text(
        f'#!{sys.executable}\n'
        '# Written by the Kachay plugin tests: notes the arguments, then runs yt-dlp.\n'
        'import json, os, sys\n'
        f'with open({str(argv_log)!r}, "a") as log:\n'
        '    log.write(json.dumps({"argv": sys.argv[1:], "key": os.environ.get("KACHAY_POT_KEY")}) + "\\n")\n'
        'from yt_dlp import main\n'
        'main(sys.argv[1:])\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


def start_kachay(tmp: Path, minter_url: str | None) -> Kachay:
    if not SERVER_BIN.is_file():
        pytest.fail(
            f'The Kachay server binary {SERVER_BIN} does not exist: build it (cargo build -p server) '
            f'or point KACHAY_SERVER_BIN at one.', pytrace=False)
    for name in ('downloads', 'data', 'bin'):
        (tmp / name).mkdir(parents=True, exist_ok=True)
    argv_log = tmp / 'ytdlp-argv.jsonl'
    web_url = f'http://127.0.0.1:{harness.free_port()}'
    env = {name: os.environ[name] for name in ('PATH', 'HOME', 'LANG', 'TMPDIR') if name in os.environ}
    env.update({
        'LEPTOS_SITE_ADDR': web_url.removeprefix('http://'),
        'LEPTOS_OUTPUT_NAME': 'kachay',
        'DOWNLOAD_DIR': str(tmp / 'downloads'),
        'DATA_DIR': str(tmp / 'data'),
        'RUST_LOG': 'warn',
        'YTDLP': str(_write_ytdlp_wrapper(tmp / 'bin', argv_log)),
    })
    if minter_url:
        env['POT_PROVIDER_URL'] = minter_url
    log_path = tmp / 'server.log'
    with log_path.open('wb') as log:
        process = subprocess.Popen(
            [str(SERVER_BIN)], cwd=harness.REPO / 'server', env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    server = Kachay(process=process, web_url=web_url, log_path=log_path, argv_log=argv_log)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f'The Kachay server exited with {process.returncode}:\n{server.log_tail()}', pytrace=False)
        try:
            server.health()
            break
        except (OSError, AssertionError):
            if time.monotonic() > deadline:
                stop_kachay(server)
                pytest.fail(f'The Kachay server did not answer /api/health in {START_TIMEOUT:.0f} s:\n'
                            f'{server.log_tail()}', pytrace=False)
            time.sleep(0.2)
    server.read_ytdlp_argv()
    assert server.url and server.key, (
        'the server gave yt-dlp no youtubepot-kachay url, or no KACHAY_POT_KEY: ' + shlex.join(server.argv))
    return server


def stop_kachay(server: Kachay):
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope='session')
def minter_server():
    minter = FakeMinter().start()
    yield minter
    minter.stop()


@pytest.fixture
def minter(minter_server):
    """The fake minter, up, with no mint counted yet."""
    if not minter_server.running:
        minter_server.start()
    minter_server.reset()
    return minter_server


@pytest.fixture(scope='session')
def kachay(minter_server, tmp_path_factory):
    """The Kachay server, with the fake minter as its POT_PROVIDER_URL.

    One for all tests: they use content bindings and cache keys of their own.
    """
    server = start_kachay(tmp_path_factory.mktemp('kachay'), minter_server.url)
    yield server
    stop_kachay(server)
