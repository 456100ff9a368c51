"""Search benchmark: `make bench` (BENCH_PROFILES=20000 by default).

Loads N generated profiles into a fresh SQLite database, then reports:
- a full index rebuild: seconds and profiles a second;
- for a fixed mixed query set, p50 and p95 of
  * Whoosh alone (the main text query straight on the searcher, no filters,
    counts or highlights: a floor, not what a page needs),
  * the search service (everything Whoosh does for one page: ranked hits,
    facet counts, the two checkbox counts, highlights),
  * the whole HTTP request for the page and for the htmx fragment, served by
    gunicorn (one sync worker) on loopback, measured in the same run;
  and the ratios of the HTTP figures to the service's;
- the time from a profile edit's commit (an HTTP POST from the mentor) to the
  edit being findable by search.

It prints a Markdown report; `--write docs/benchmarks.md` also saves it.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from werkzeug.datastructures import MultiDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    "statistics", "stats", "quality improvement", "QI", "leadership", "mentoring",
    "critical care", "nursing leadership leeds", "grant writing", "phd supervision",
    "general practice", "career planning", "Zoë", "policy", "statistcs", "qualitative research",
    'quality "improvement" AND (', "", "health data science", "new in post",
]
FILTERED = [
    [("q", "leadership"), ("knowing", "why")],
    [("q", "statistics"), ("context", "career"), ("format", "video")],
    [("knowing", "whom"), ("sector", "nhs")],
    [("q", "research"), ("kind", "formal"), ("in_training", "1")],
    [("q", "quality improvement"), ("page", "2")],
    [("q", "nursing"), ("sort", "newest")],
]
REPEATS = 5


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def argument_sets() -> list[list[tuple[str, str]]]:
    return [[("q", text)] for text in QUERIES] + FILTERED


def timed(function, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=int(os.environ.get("BENCH_PROFILES",
                                                                            20000)))
    parser.add_argument("--write", help="also write the report to this file")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="register-bench-"))
    env = {
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SEARCH_INDEX_DIR": str(workdir / "index"),
        "SECRET_KEY": "bench-" + "x" * 40,
        "REGISTER_ENV": "development",
        "MAIL_SERVER": "localhost",  # nothing is emailed; this keeps production quiet
    }
    os.environ.update(env)

    from flask_migrate import upgrade
    from whoosh import query as wq

    from register import create_app, demo
    from register.extensions import db
    from register.search import index, services, sync
    from register.search import query as text_query

    app = create_app({"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_COST": 8192})
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    with app.app_context():
        upgrade()
        started = time.perf_counter()
        demo.load(mentors=options.profiles)
        db.session.commit()
        load_seconds = time.perf_counter() - started
        rebuilt = sync.rebuild(processes=2)  # as `flask search rebuild` does

    with app.test_request_context():
        param_sets = [services.SearchParams.from_args(MultiDict(args))
                      for args in argument_sets()]
        for params in param_sets:  # warm the searcher and caches once
            services.search(params)
        searcher = index.searcher()
        whoosh_ms, service_ms = [], []
        for params in param_sets:
            built = text_query.build(params.text).query
            whoosh_ms += timed(lambda p=params, b=built: searcher.search_page(
                b or wq.Every(), p.page, pagelen=services.PAGE_SIZE,
                terms=b is not None), REPEATS)
            service_ms += timed(lambda p=params: services.search(p), REPEATS)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        # One worker: the limits may be counted in its memory (WEB_CONCURRENCY=1 says so).
        cwd=ROOT, env={**os.environ, **env, "REGISTER_ENV": "production", "WEB_CONCURRENCY": "1"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        page_ms, fragment_ms = [], []
        for args in argument_sets():
            url = base + "/mentors?" + urllib.parse.urlencode(args)
            urllib.request.urlopen(url).read()  # warm
            page_ms += timed(lambda u=url: urllib.request.urlopen(u).read(), REPEATS)
            fragment = urllib.request.Request(url, headers={"HX-Request": "true"})
            fragment_ms += timed(lambda r=fragment: urllib.request.urlopen(r).read(), REPEATS)
        latency_ms = edit_to_searchable(base)
    finally:
        server.terminate()
        server.wait(timeout=10)

    def row(name, values):
        return (f"| {name} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} |")

    service_p50, service_p95 = statistics.median(service_ms), percentile(service_ms, 0.95)
    page_p95, fragment_p95 = percentile(page_ms, 0.95), percentile(fragment_ms, 0.95)
    say(f"## Search benchmark, {options.profiles:,} profiles")
    say()
    say("Written by `make bench` (bench/search_bench.py); run it again to refresh. "
        "Targets at 20,000 profiles on a 2-core machine: HTTP search p95 under 100 ms and at "
        "most 1.5 times the search's own p95; a rebuild of at least 2,000 profiles a second.")
    say()
    say("How it is measured: the profiles are generated by `register.demo` from a fixed seed "
        "into a fresh SQLite file. The search service is `register.search.services.search`, "
        "called directly: every piece of Whoosh work a results page needs. HTTP requests go "
        "over loopback to gunicorn (one sync worker, production settings) from the benchmark "
        "process, after one warm-up request per query. The edit latency is a real "
        "POST of the profile editor as a demo mentor, then searches every 5 ms for the new word.")
    say()
    say(f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs. Run on {time.strftime('%Y-%m-%d')}.")
    say()
    say(f"- Loading the profiles into SQLite: {load_seconds:.1f} s")
    say(f"- Full rebuild: {rebuilt.seconds:.1f} s, "
        f"**{rebuilt.profiles / rebuilt.seconds:,.0f} profiles a second**")
    say(f"- Query set: {len(argument_sets())} searches (words, phrases, synonyms, a misspelling, "
        f"stray operators, filters, paging, newest first), each run {REPEATS} times")
    say()
    say("| measured | p50 ms | p95 ms |")
    say("| --- | ---: | ---: |")
    say(row("Whoosh alone (main query)", whoosh_ms))
    say(row("Search service (all Whoosh work for a page)", service_ms))
    say(row("HTTP, whole page", page_ms))
    say(row("HTTP, htmx fragment", fragment_ms))
    say()
    say(f"- HTTP p95 ÷ search service p95: page **{page_p95 / service_p95:.2f}**, "
        f"fragment **{fragment_p95 / service_p95:.2f}** (target: at most 1.5)")
    say(f"- HTTP p50 ÷ search service p50: page {statistics.median(page_ms) / service_p50:.2f}, "
        f"fragment {statistics.median(fragment_ms) / service_p50:.2f}")
    whoosh_p95 = percentile(whoosh_ms, 0.95)
    say(f"- HTTP p95 ÷ Whoosh-alone p95 (a stricter floor that leaves out counts and "
        f"highlights): page {page_p95 / whoosh_p95:.2f}, fragment {fragment_p95 / whoosh_p95:.2f}")
    say(f"- Edit committed to searchable (mentor saves, search finds the new word): "
        f"median {statistics.median(latency_ms):.0f} ms, worst {max(latency_ms):.0f} ms "
        f"over {len(latency_ms)} edits")
    if options.write:
        Path(options.write).write_text("\n".join(lines) + "\n")


def edit_to_searchable(base: str) -> list[float]:
    """Log in as a demo mentor, save edits with a new word, time until search finds it."""
    from register.demo import DEMO_PASSWORD

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def token(html: str) -> str:
        return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)

    def post(path: str, fields) -> str:
        page = opener.open(base + path).read().decode()
        data = urllib.parse.urlencode([("csrf_token", token(page)), *fields]).encode()
        return opener.open(base + path, data=data).read().decode()

    post("/auth/login", [("email", "mentor1@example.org"), ("password", DEMO_PASSWORD)])
    editor = opener.open(base + "/me/profile").read().decode()
    fields = editor_fields(editor)
    samples = []
    for attempt in range(5):
        word = f"zebrafish{attempt}q"
        changed = [(k, v) for k, v in fields if k != "expertise"] + [("expertise", word)]
        post("/me/profile", changed)
        saved = time.perf_counter()
        while time.perf_counter() - saved < 10:
            found = opener.open(base + "/mentors?accepting=0&q=" + word).read().decode()
            if "1 mentor matches" in found:
                break
            time.sleep(0.005)
        samples.append((time.perf_counter() - saved) * 1000)
    return samples


def editor_fields(html: str) -> list[tuple[str, str]]:
    """The current values of the profile editor's fields, as a browser would send them."""
    fields = []
    for match in re.finditer(r"<input([^>]*)>", html):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', match.group(1)))
        name, kind = attrs.get("name"), attrs.get("type", "text")
        if not name or name == "csrf_token" or name == "away_until":
            continue
        if kind in ("checkbox", "radio"):
            if "checked" in match.group(1):
                fields.append((name, attrs.get("value", "y")))
        else:
            fields.append((name, _unescape(attrs.get("value", ""))))
    for name, body in re.findall(r'<textarea[^>]*name="(\w+)"[^>]*>(.*?)</textarea>', html, re.S):
        fields.append((name, _unescape(body.strip("\n"))))
    for name, body in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|<option value="([^"]*)"'
                           r'[^>]*selected', body)
        if chosen:
            fields.append((name, chosen.group(1) or chosen.group(2)))
    return fields


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


if __name__ == "__main__":
    main()
