"""Reports benchmark: the figures page at BENCH_PROFILES profiles (20,000 by default).

Loads, into a fresh SQLite file, N mentor profiles, 5N introductory requests
(a year and a half of them, in every state, with answer times), N
mentorships with meetings and evaluations, and N/4 mentees' objectives; then
times, after one warm-up:

- the figures service once with nothing rolled up (every request counted), then
  the worker's roll-up of the finished days (register/reports/rollups.py), then
- the figures service alone (every SQL aggregate the page shows), and
- the whole page, GET /admin/reports for the default period (the last 12
  months), through the Flask test client as a logged-in coordinator: the
  queries, the SVG charts and the tables rendered.

Target: the page under 300 ms at 20,000 profiles, 100,000 requests and
20,000 mentorships. `--append docs/benchmarks.md` adds the section after the
search benchmark's.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPEATS = 10
CODES = {
    "knowing": ["why", "how", "whom"],
    "contexts": ["career", "sector", "politics", "skills", "confidence", "change"],
    "sector": ["nhs", "academia", "industry", "charity", "government", "other"],
}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))]


def load(db, profiles: int, now: datetime) -> dict:
    """Write the register in bulk: plain INSERTs of prepared rows, in id order."""
    from sqlalchemy import insert

    from register.auth.models import User
    from register.introductions.models import IntroRequest
    from register.matching.models import MenteeObjectives
    from register.mentors.models import MentorProfile
    from register.mentorships.models import Evaluation, Meeting, Mentorship

    rng = random.Random(2026)
    mentees = max(10, profiles // 2)
    users = [{"id": i, "email": f"user{i}@bench.example", "name": f"Person {i}",
              "email_verified_at": now, "is_admin": i == 1}
             for i in range(1, profiles + mentees + 2)]
    db.session.execute(insert(User), users)
    mentor_ids = list(range(2, profiles + 2))
    mentee_ids = list(range(profiles + 2, profiles + mentees + 2))

    def some(kind: str) -> list[str]:
        # In the vocabulary's order, as the forms store them.
        chosen = set(rng.sample(CODES[kind], rng.randint(1, 2)))
        return [code for code in CODES[kind] if code in chosen]

    db.session.execute(insert(MentorProfile), [
        {"id": n, "user_id": user_id, "display_name": f"Mentor {n}", "sector":
         rng.choice(CODES["sector"]), "knowing": some("knowing"), "contexts": some("contexts"),
         "formats": ["video"], "capacity": rng.randint(1, 4), "state": "published",
         "paused": rng.random() < 0.1, "published_at": now - timedelta(days=400)}
        for n, user_id in enumerate(mentor_ids, start=1)])

    states = ["accepted"] * 40 + ["declined"] * 25 + ["expired"] * 15 + ["withdrawn"] * 10 + [
        "pending"] * 10
    reasons = ["capacity", "experience", "unavailable", "other"]
    requests = []
    for n in range(1, 5 * profiles + 1):
        profile = rng.randint(1, profiles)
        sent = now - timedelta(days=rng.uniform(0, 540))
        state = rng.choice(states)
        if state == "pending" and sent < now - timedelta(days=14):
            state = "expired"  # as the worker leaves them: nothing waits past 14 days
        answered = (sent + timedelta(hours=rng.expovariate(1 / 60))
                    if state in ("accepted", "declined") else None)
        requests.append({
            "id": n, "mentee_id": rng.choice(mentee_ids), "mentor_id": profile + 1,
            "profile_id": profile, "subject": "A first conversation", "aspiration": "x" * 40,
            "why_you": "y" * 40, "ask": "call15", "kind": "either", "contexts": some("contexts"),
            "knowing": some("knowing"), "formats": ["video"], "state": state,
            "decline_reason": rng.choice(reasons) if state == "declined" else None,
            "created_at": sent, "expires_at": sent + timedelta(days=14),
            "answered_at": answered,
            "closed_at": sent + timedelta(days=14) if state in ("expired", "withdrawn") else None,
        })
        if len(requests) == 10_000:
            db.session.execute(insert(IntroRequest), requests)
            requests = []
    if requests:
        db.session.execute(insert(IntroRequest), requests)

    ships, meetings, evaluations = [], [], []
    for n in range(1, profiles + 1):
        started = now - timedelta(days=rng.uniform(0, 540))
        closed = rng.random() < 0.5
        ships.append({
            "id": n, "mentor_id": rng.choice(mentor_ids), "mentee_id": rng.choice(mentee_ids),
            "status": "closed" if closed else "active", "started_at": started,
            "closed_at": started + timedelta(days=rng.uniform(30, 200)) if closed else None,
            "close_reason": rng.choice(["goals_met", "end_date", "not_fit", "no_time"])
            if closed else None})
        for m in range(rng.randint(0, 3)):
            meetings.append({
                "mentorship_id": n, "uid": f"bench-{n}-{m}", "status": "held",
                "starts_at": started + timedelta(days=7 + 30 * m), "minutes": 60,
                "format": "video", "created_at": started, "updated_at": started})
        if closed:
            evaluations.append({"mentorship_id": n, "role": "mentee",
                                "usefulness": rng.randint(2, 5),
                                "would_recommend": rng.random() < 0.8,
                                "goals_met": rng.randint(1, 5), "what_changed": "More confident."})
    db.session.execute(insert(Mentorship), ships)
    db.session.execute(insert(Meeting), meetings)
    db.session.execute(insert(Evaluation), evaluations)
    db.session.execute(insert(MenteeObjectives), [
        {"user_id": user_id, "objectives": ["board-level influence"], "knowing": some("knowing"),
         "contexts": some("contexts"), "development_areas": [], "formats": ["video"],
         "sector": rng.choice(CODES["sector"]), "location": "", "facilitated": rng.random() < 0.3,
         "waiting_since": now - timedelta(days=rng.uniform(0, 60))}
        for user_id in mentee_ids[: max(1, profiles // 4)]])
    db.session.commit()
    return {"profiles": profiles, "requests": 5 * profiles, "mentorships": profiles,
            "meetings": len(meetings), "evaluations": len(evaluations)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int,
                        default=int(os.environ.get("BENCH_PROFILES", "20000")))
    parser.add_argument("--append", help="also append the section to this file")
    options = parser.parse_args()

    from flask_migrate import upgrade

    from register import create_app
    from register.extensions import db

    folder = Path(tempfile.mkdtemp(prefix="reports-bench-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
                      "SEARCH_INDEX_DIR": str(folder / "index"), "SECRET_KEY": "b" * 40,
                      "TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        sizes = load(db, options.profiles, now)
        loaded = time.perf_counter() - started

    from register.reports import rollups, services

    with app.app_context():
        period = services.default_period(now.date())
        began = time.perf_counter()
        services.figures(period, now)  # every day counted from the requests
        cold = (time.perf_counter() - began) * 1000
        db.session.remove()
        began = time.perf_counter()
        kept = 0
        while True:  # what the worker does, a run at a time, as days finish
            done = rollups.roll_up(now)
            db.session.commit()
            if not done:
                break
            kept += done
        rolled = time.perf_counter() - began
        services.figures(period, now)  # warm-up
        service, service_cpu = [], []
        for _ in range(REPEATS):
            began, cpu = time.perf_counter(), time.process_time()
            services.figures(period, now)
            service.append((time.perf_counter() - began) * 1000)
            service_cpu.append((time.process_time() - cpu) * 1000)
            db.session.remove()

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True
    first = client.get("/admin/reports")
    if first.status_code != 200:
        # Sessions may carry more than the user id (a server-side session row);
        # log in as the coordinator the ordinary way instead.
        with app.app_context():
            from register.auth.models import User
            from register.auth.passwords import hash_password

            admin = db.session.get(User, 1)
            admin.password_hash = hash_password("bench-password-2026")
            db.session.commit()
        client = app.test_client()
        client.post("/auth/login", data={"email": "user1@bench.example",
                                          "password": "bench-password-2026"})
        first = client.get("/admin/reports")
    assert first.status_code == 200, first.status_code
    page, page_cpu = [], []
    for _ in range(REPEATS):
        began, cpu = time.perf_counter(), time.process_time()
        response = client.get("/admin/reports")
        page.append((time.perf_counter() - began) * 1000)
        page_cpu.append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200

    say(f"## Reports benchmark, {sizes['profiles']:,} profiles")
    say()
    say("Written by `make bench` (bench/reports_bench.py). Target: the figures page at "
        "/admin/reports under 300 ms at 20,000 profiles, 100,000 requests and 20,000 "
        "mentorships.")
    say()
    say(f"How it is measured: {sizes['profiles']:,} published profiles, "
        f"{sizes['requests']:,} requests over 18 months in every state, "
        f"{sizes['mentorships']:,} mentorships with {sizes['meetings']:,} meetings and "
        f"{sizes['evaluations']:,} evaluations, written in bulk into a fresh SQLite file "
        f"({loaded:.1f} s). The default period (the last 12 months, all sectors) is timed "
        f"{REPEATS} times after one warm-up: the figures service alone, and the whole page "
        "through the Flask test client as a logged-in coordinator (queries, charts, tables).")
    say()
    say(f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs. Run on {now:%Y-%m-%d}.")
    say()
    say("| measured | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms |")
    say("| --- | ---: | ---: | ---: | ---: |")
    say(f"| Figures service, nothing kept yet (one run) | {cold:.1f} | {cold:.1f} | | |")
    for name, wall, cpu in (("Figures service (every aggregate)", service, service_cpu),
                            ("GET /admin/reports, whole page", page, page_cpu)):
        say(f"| {name} | {statistics.median(wall):.1f} | {percentile(wall, 0.95):.1f} | "
            f"{statistics.median(cpu):.1f} | {percentile(cpu, 0.95):.1f} |")
    say()
    say(f"- Load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs. "
        "SQLite runs inside the benchmark's process, so its CPU time is the work itself; "
        "on a busy machine the wall-clock time also counts the waits for a CPU.")
    say()
    say(f"- The worker's roll-up kept {kept} finished days in {rolled:.1f} s; each process "
        "sums the kept days by month once, and a view counts only the last 16 days from the "
        "requests. "
        "The first row above is the same figures with no day kept (a fresh register, or one "
        "whose worker never ran).")
    verdict = "within" if percentile(page, 0.95) < 300 else "**over**"
    cpu_verdict = "within" if percentile(page_cpu, 0.95) < 300 else "**over**"
    say(f"- Page p95 {percentile(page, 0.95):.0f} ms wall clock: {verdict} the 300 ms target; "
        f"{percentile(page_cpu, 0.95):.0f} ms of CPU: {cpu_verdict} it.")
    if options.append:
        path = Path(options.append)
        existing = path.read_text() if path.exists() else ""
        marker = "## Reports benchmark"
        if marker in existing:
            existing = existing[: existing.index(marker)].rstrip() + "\n"
        path.write_text(existing + ("\n" if existing else "") + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
