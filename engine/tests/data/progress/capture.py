#!/usr/bin/env python3
"""Re-captures yt-dlp's output for the progress parser tests.

usage: capture.py NAME SITE_URL PATH [yt-dlp format/postprocess args...]

Runs yt-dlp exactly as engine::download does (same progress templates, same
--print) against a running fixture site (`cargo run -p fixture -- --addr ...`)
and writes every line of stdout and stderr, in the order they arrived, to
NAME.txt next to this script. The lines are stored raw: the parser must read
them as they come.
"""
import os
import selectors
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
name, site, path, *extra = sys.argv[1:]
ytdlp = os.environ.get("YTDLP") or os.path.join(here, "../../../../.venv/bin/yt-dlp")
work = os.path.join("/tmp/kachay-capture", name)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
cmd = [
    ytdlp, "--ignore-config", "--no-update", "--no-playlist",
    "--newline", "--progress",
    "--progress-template", "download:[kachay-dl] %(progress)j",
    "--progress-template", "postprocess:[kachay-pp] %(progress)j",
    "--print", "after_move:[kachay-file] %(filepath)s",
    "--ffmpeg-location", "/usr/bin/ffmpeg", "--socket-timeout", "20",
    "-o", os.path.join(work, "media.%(ext)s"),
    *extra, "--", site.rstrip("/") + path,
]
proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
sel = selectors.DefaultSelector()
sel.register(proc.stdout, selectors.EVENT_READ, "out")
sel.register(proc.stderr, selectors.EVENT_READ, "err")
lines = []
counts = {"out": 0, "err": 0}
open_pipes = 2
while open_pipes:
    for key, _ in sel.select():
        line = key.fileobj.readline()
        if not line:
            sel.unregister(key.fileobj)
            open_pipes -= 1
            continue
        counts[key.data] += 1
        lines.append(line)
rc = proc.wait()
with open(os.path.join(here, name + ".txt"), "wb") as f:
    f.writelines(lines)
print(f"{name}: exit {rc}, {counts['out']} stdout lines, {counts['err']} stderr lines; files: {sorted(os.listdir(work))}")
