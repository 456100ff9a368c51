"""Search benchmark: `make bench` (BENCH_PROFILES=20000 by default; 100000 also works).

Loads N generated profiles into a fresh SQLite database, then reports, all in one run:
- a full index rebuild: seconds and profiles a second;
- the search service (`register.search.services.search`: everything a page needs) with
  cold caches (each search the first of its kind), warm term caches, and answered from
  the page cache, this process's and the one the processes of a host share;
- the ranking alone, for the searches with words (searches without words have none):
  the service's own scorer (register.search.scoring) beside Whoosh's collector given the
  very same query, filter, order and page size (services.whoosh_part), without counts
  or extracts;
- SQLite FTS5 over the same profiles' text (stemmed, accents folded), the same words
  ANDed, a page of 20 by bm25 plus the match count: a reference for the same work;
- HTTP, served by gunicorn with 2 sync workers on loopback: each search timed once per
  round in a shuffled order, the first round (cold) apart from the rest (warm), for the
  page and its htmx fragment;
- throughput with 2 workers: a bare Flask page (/healthz), then a realistic mix (at
  least 100 different searches and filter combinations, replayed with the repetition
  many people typing produce, each search also fetched as its htmx fragment), and the
  same searches each once (unique-query throughput); memory per worker after it;
- the time from a profile edit's commit (an HTTP POST from the mentor) to the edit
  being findable by search.

The load generator shares the machine's cores with the server: throughput figures are
a floor. It prints a Markdown report; `--write docs/benchmarks.md` also saves it.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import platform
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from werkzeug.datastructures import MultiDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# What people type: words, phrases, synonyms, misspellings, half-typed words (as active
# search sends them), stray operators, names with and without accents.
TEXTS = [
    "statistics", "stats", "stat", "stati", "statis", "quality improvement", "QI",
    "leadership", "leadership coaching", "coaching leadership", "mentoring",
    "critical care", "nursing leadership leeds", "grant writing", "grant writting",
    "phd supervision", "general practice", "GP", "career planning", "Zoë", "Zoe", "policy",
    "statistcs", "qualitative research", "qualitative", "qual", 'quality "improvement" AND (',
    "health data science", "new in post", "epidemiology", "epidemiolgy methods",
    "patient safety", "patient safty", "fundraising", "research ethics", "change management",
    "confidence", "influencing skills", "strategic thinking", "problem solving",
    "organisational knowledge", "public health", "midwifery", "palliative care",
    "medical education", "data", "nurse consultant", "trustee", "governance", "",
]
FILTERS = [
    [], [("knowing", "why")], [("context", "career"), ("format", "video")],
    [("sector", "nhs")], [("kind", "formal"), ("in_training", "1")], [("accepting", "0")],
    [("sort", "newest")], [("page", "2")], [("knowing", "whom"), ("sector", "academia")],
]
DISTINCT = 120  # different searches in the throughput mix
ROUNDS = 5  # HTTP: each search timed once per round, in a new order each round
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", 10))  # each throughput phase
CLIENTS = 4


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timing_set() -> list[list[tuple[str, str]]]:
    """The searches timed one by one: every text, plus each filter set with a few words."""
    sets = [[("q", text)] for text in TEXTS]
    for n, extra in enumerate(FILTERS[1:]):
        sets.append([("q", TEXTS[n * 5 % len(TEXTS)]), *extra])
        sets.append(list(extra))
    return sets


def mix_set(rng: random.Random) -> list[list[tuple[str, str]]]:
    """DISTINCT different searches: words crossed with filters, most without filters."""
    found: list[list[tuple[str, str]]] = []
    seen = set()
    while len(found) < DISTINCT:
        text = rng.choice(TEXTS)
        extra = FILTERS[0] if rng.random() < 0.55 else rng.choice(FILTERS[1:])
        args = ([("q", text)] if text else []) + list(extra)
        key = tuple(args)
        if key not in seen:
            seen.add(key)
            found.append(args)
    return found


def timed(function, repeats: int = 1) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def clear_caches() -> None:
    """Forget what the search keeps from one search to the next (pages, terms' postings
    and bitsets, spellings), as for a search the first of its kind. What a worker reads
    once when it starts (filter bitsets, field lengths, the term tables of the segments'
    postings files: services.warm) stays read."""
    from register.search import masks, services, spelling

    services.forget_pages()
    masks.forget_terms()
    with spelling._lock:
        spelling._near_cache.clear()


def fts5_reference(app, workdir: Path, texts: list[str]) -> tuple[list[float], float]:
    """Times of SQLite FTS5 answering the same words over the same profiles' text."""
    from sqlalchemy import select

    from register.extensions import db
    from register.mentors.models import MentorProfile
    from register.search import query as text_query

    connection = sqlite3.connect(workdir / "fts5.sqlite3")
    connection.execute("CREATE VIRTUAL TABLE profile USING fts5(name, headline, expertise, bio, "
                       "place, tokenize='porter unicode61 remove_diacritics 2')")
    started = time.perf_counter()
    with app.app_context():
        rows = db.session.execute(select(
            MentorProfile.id, MentorProfile.display_name, MentorProfile.headline,
            MentorProfile.organisation, MentorProfile.expertise, MentorProfile.bio,
            MentorProfile.location).where(MentorProfile.state == MentorProfile.PUBLISHED))
        connection.executemany("INSERT INTO profile(rowid, name, headline, expertise, bio, place) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
                               ((r.id, r.display_name, f"{r.headline}, {r.organisation}",
                                 " ; ".join(r.expertise or []), r.bio, r.location)
                                for r in rows))
    connection.commit()
    build_seconds = time.perf_counter() - started
    samples = []
    for _ in range(ROUNDS):
        for text in texts:
            words = [w for part in text_query.split(text) for w in part.words
                     if text_query.analyse(w)]
            if not words:
                continue
            match = " AND ".join('"' + w.replace('"', "") + '"' for w in words)

            def run(match=match):
                connection.execute("SELECT rowid FROM profile WHERE profile MATCH ? "
                                   "ORDER BY bm25(profile, 3, 2.5, 2.5, 1, 1.5) LIMIT 20",
                                   (match,)).fetchall()
                connection.execute("SELECT count(*) FROM profile WHERE profile MATCH ?",
                                   (match,)).fetchone()

            samples += timed(run)
    connection.close()
    return samples, build_seconds


def throughput(urls: list[tuple[str, dict]], seconds: float, *, cycle: bool) -> tuple[float, int]:
    """Requests a second from CLIENTS threads fetching `urls` (in turn, or each once)."""
    lock = threading.Lock()
    position = [0]
    done = [0]
    errors = [0]
    deadline = time.monotonic() + seconds

    def client():
        while time.monotonic() < deadline:
            with lock:
                if position[0] >= len(urls) and not cycle:
                    return
                url, headers = urls[position[0] % len(urls)]
                position[0] += 1
            try:
                urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                       timeout=30).read()
                with lock:
                    done[0] += 1
            except OSError:
                with lock:
                    errors[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / (time.monotonic() - started), errors[0]


def worker_memory_mb(master: int) -> list[float]:
    """Resident memory of each gunicorn worker (the master's children), in MB."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = re.search(r"^PPid:\s+(\d+)", text, re.M)
        rss = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
        if ppid and rss and int(ppid.group(1)) == master:
            sizes.append(int(rss.group(1)) / 1024)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=int(os.environ.get("BENCH_PROFILES",
                                                                            20000)))
    parser.add_argument("--write", help="also write the report to this file")
    options = parser.parse_args()
    rng = random.Random(2026)

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

    from register import create_app, demo
    from register.extensions import db
    from register.search import index, scoring, services, sync

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

    timing = timing_set()
    with app.test_request_context():
        param_sets = [services.SearchParams.from_args(MultiDict(args)) for args in timing]
        cold_ms, warm_ms, cached_ms, whoosh_ms, ranking_ms = [], [], [], [], []
        shared_ms: list[float] = []
        services.warm()  # as a web worker does when it starts (deploy/gunicorn.conf.py)
        for params in param_sets:
            clear_caches()
            cold_ms += timed(lambda p=params: services.search(p))
        for _ in range(ROUNDS):
            for params in rng.sample(param_sets, len(param_sets)):
                services.forget_pages()
                warm_ms += timed(lambda p=params: services.search(p))
                cached_ms += timed(lambda p=params: services.search(p))
                with services._cache_lock:  # as another worker finds it: on disk only
                    services._cache.clear()
                shared_ms += timed(lambda p=params: services.search(p))
        searcher = index.searcher()
        for _ in range(ROUNDS):
            for params in param_sets:
                part = services.whoosh_part(searcher, params)
                if part is None:
                    continue
                whoosh_ms += timed(lambda k=part: searcher.search(**k)[:services.PAGE_SIZE])
                if part["sortedby"] is None:
                    selected = int.from_bytes(bytes(part["filter"].bits), "little")
                    ranking_ms += timed(lambda k=part, s=selected: scoring.top(
                        searcher, k["q"], s, searcher.doc_count_all(), k["limit"]))
    fts_ms, fts_build = fts5_reference(app, workdir, [args[0][1] for args in timing
                                                      if args and args[0][0] == "q"])

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--workers", "2",
         "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        # Limits counted in memory need one worker in production; the benchmark measures
        # two and sends no form, so it says so (WEB_CONCURRENCY=1 keeps the check quiet).
        cwd=ROOT, env={**os.environ, **env, "REGISTER_ENV": "production", "WEB_CONCURRENCY": "1"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        page = {"cold": [], "warm": []}
        fragment = {"cold": [], "warm": []}
        for round_number in range(ROUNDS):
            kind = "cold" if round_number == 0 else "warm"
            for args in rng.sample(timing, len(timing)):
                url = base + "/mentors?" + urllib.parse.urlencode(args)
                page[kind] += timed(lambda u=url: urllib.request.urlopen(u).read())
                request = urllib.request.Request(url, headers={"HX-Request": "true"})
                fragment[kind] += timed(lambda r=request: urllib.request.urlopen(r).read())

        bare_rate, _ = throughput([(base + "/healthz", {})], LOAD_SECONDS, cycle=True)
        mix = mix_set(rng)
        urls = []
        for args in mix:
            url = base + "/mentors?" + urllib.parse.urlencode(args)
            urls += [(url, {"HX-Request": "true"}), (url, {})]
        unique_rate, unique_errors = throughput(urls, LOAD_SECONDS * 3, cycle=False)
        weights = [1 / (rank + 1) for rank in range(len(mix))]  # a few searches are common
        stream = []
        for args in rng.choices(mix, weights=weights, k=4000):
            url = base + "/mentors?" + urllib.parse.urlencode(args)
            stream += [(url, {"HX-Request": "true"}), (url, {})]
        mix_rate, mix_errors = throughput(stream, LOAD_SECONDS, cycle=True)
        memory = worker_memory_mb(server.pid)
        latency_ms = edit_to_searchable(base)
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)  # gunicorn lets its workers finish (30 s at most)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)

    def row(name, values):
        if not values:
            return f"| {name} | – | – | 0 |"
        return (f"| {name} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} "
                f"| {len(values)} |")

    words_only = sum(1 for args in timing if args and args[0][0] == "q" and args[0][1])
    fts_p95 = percentile(fts_ms, 0.95)
    warm_page_p95 = percentile(page["warm"], 0.95)
    say(f"## Search benchmark, {options.profiles:,} profiles")
    say()
    say("Written by `make bench` (bench/search_bench.py, `BENCH_PROFILES` for the size); run "
        "it again to refresh. Targets: HTTP search p95 at most 2 × the FTS5 p95 at 20,000 "
        "profiles and under 100 ms at 100,000; throughput with 2 workers at least 15 % of a "
        "bare Flask page; a rebuild that grows no faster than the register; under 150 MB a "
        "worker at 100,000.")
    say()
    say("How it is measured: the profiles are generated by `register.demo` from a fixed seed "
        "into a fresh SQLite file. The search service is `register.search.services.search`, "
        "called directly. The two \"ranking alone\" rows rank the same query among the same "
        "documents for the searches with words: with the service's own BM25F scorer "
        "(`register.search.scoring`, which gives Whoosh's scores), and with Whoosh's collector "
        "(`services.whoosh_part`; its row also counts \"newest first\"). FTS5 is SQLite's "
        "full-text index over the same profiles' text (Porter stemming, accents removed), the "
        "same words ANDed, a page of 20 by bm25 and the match count, filters left out. HTTP "
        "goes over loopback to gunicorn (2 sync workers, production settings); each search "
        f"is timed once per round, {ROUNDS} rounds in shuffled orders, the first round cold. "
        f"Throughput: {CLIENTS} client threads on the same 2 cores as the server, so a floor.")
    say()
    say(f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs. Run on {time.strftime('%Y-%m-%d')}.")
    say()
    say(f"- Loading the profiles into SQLite: {load_seconds:.1f} s")
    say(f"- Full rebuild: {rebuilt.seconds:.1f} s, "
        f"**{rebuilt.profiles / rebuilt.seconds:,.0f} profiles a second** "
        f"(FTS5 over the same text: {fts_build:.1f} s)")
    say(f"- Timed searches: {len(timing)} ({words_only} with words; the rest filters or "
        "browsing), each in every round")
    say()
    say("| measured | p50 ms | p95 ms | samples |")
    say("| --- | ---: | ---: | ---: |")
    say(row("Search service, cold (each search the first of its kind)", cold_ms))
    say(row("Search service, warm term caches, page not cached", warm_ms))
    say(row("Search service, page from this process's cache", cached_ms))
    say(row("Search service, page another process left (search/pages.py)", shared_ms))
    say(row("Ranking alone: the service's scorer (same query, filter, page size)",
            ranking_ms))
    say(row("Ranking alone: Whoosh's collector (same query, filter, order, page size)",
            whoosh_ms))
    say(row("SQLite FTS5, same words, same profiles", fts_ms))
    say(row("HTTP page, first round (cold)", page["cold"]))
    say(row("HTTP page, later rounds (warm)", page["warm"]))
    say(row("HTTP htmx fragment, first round (cold)", fragment["cold"]))
    say(row("HTTP htmx fragment, later rounds (warm)", fragment["warm"]))
    say()
    say(f"- HTTP p95 ÷ FTS5 p95: warm page **{warm_page_p95 / fts_p95:.1f}**, cold page "
        f"{percentile(page['cold'], 0.95) / fts_p95:.1f} (target: at most 2)")
    say(f"- Throughput, 2 workers: bare Flask page {bare_rate:,.0f} requests/s; search mix "
        f"({len(mix)} different searches, repeated as many people typing do, page and "
        f"fragment) {mix_rate:,.0f}/s = **{100 * mix_rate / bare_rate:.1f} %** of the bare "
        f"page (target: 15 %); each search once (no repeats) {unique_rate:,.0f}/s = "
        f"{100 * unique_rate / bare_rate:.1f} %"
        + (f"; {mix_errors + unique_errors} failed requests" if mix_errors + unique_errors
           else ""))
    say("- Memory per worker after the load: "
        + ", ".join(f"{size:.0f} MB" for size in sorted(memory)) + " (target: under 150 MB)")
    say(f"- Edit committed to searchable (mentor saves, search finds the new word): "
        f"median {statistics.median(latency_ms):.0f} ms, worst {max(latency_ms):.0f} ms "
        f"over {len(latency_ms)} edits")
    if options.write:
        save_section(Path(options.write), lines)


def save_section(path: Path, lines: list[str]) -> None:
    """Put this run's section into the report, in place of the last run at the same size.

    Search sections of other sizes stay (20,000 and 100,000 are compared), in order of
    size and before the rest (the reports benchmark appends its own section after).
    """
    existing = path.read_text() if path.exists() else ""
    sections = [part.rstrip() + "\n" for part in re.split(r"(?m)^(?=## )", existing)
                if part.strip()]
    ours = "\n".join(lines).rstrip() + "\n"
    searches = [part for part in sections
                if part.startswith("## Search benchmark") and part.split("\n", 1)[0] != lines[0]]
    others = [part for part in sections if not part.startswith("## Search benchmark")]

    def size(part: str) -> int:
        found = re.match(r"## Search benchmark, ([\d,]+) profiles", part)
        return int(found.group(1).replace(",", "")) if found else 0

    path.write_text("\n".join(sorted([*searches, ours], key=size) + others))


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
