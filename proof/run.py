"""`make proof`: the register on a production-like setup, under load, while things break.

Everything runs on loopback, in a temporary folder, and stops by itself:

- a PostgreSQL cluster of its own (initdb on a free port; never the machine's
  shared server), which the proof stops, starts and freezes;
- two app hosts (gunicorn, 2 workers each) with separate search indexes, and
  one worker per host (mail, index sync, reminders);
- an SMTP sink (aiosmtpd) that can accept, refuse (451), stall, or be down.

Sixteen clients (twelve mentees, four mentors) search, read profiles, send,
withdraw, accept and decline requests on both hosts while the driver injects
faults one after another. Then it checks the invariants and writes
docs/reliability.md. Run: .venv/bin/python proof/run.py [--write docs/reliability.md]
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

import psycopg
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST_HEADER = "register.test"
CLIENT_TIMEOUT = 40.0  # longer than gunicorn's 30 s: a hang would show as one
HANG_SECONDS = 35.0
MENTEES, MENTORS_IN_REGISTER, BUSY_MENTORS = 12, 60, 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# PostgreSQL of our own -------------------------------------------------------------------


class Postgres:
    """A throwaway cluster on a free loopback port, owned by the postgres user when root."""

    def __init__(self, folder: Path):
        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
        self.folder = folder / "pg"
        self.folder.mkdir()
        self.data = self.folder / "data"
        self.port = free_port()
        self.root = os.geteuid() == 0
        if self.root:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *command, check=True):
        command = [str(part) for part in command]
        if self.root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def create(self) -> None:
        self._run(self.bin / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync")
        self.start()
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute("CREATE DATABASE register")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.folder} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.folder / "log", "-w",
                  "-t", "60", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def url(self, database: str = "register") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


# The SMTP sink --------------------------------------------------------------------------


class _SinkHandler:
    def __init__(self):
        self.mode = "accept"
        self.message_ids: list[str] = []
        self.in_progress = threading.Event()
        self.lock = threading.Lock()
        self.stalled_id = ""
        self.arrived: dict[str, list[float]] = {}

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "refuse":
            return "451 4.3.0 Try again later"
        message = message_from_bytes(envelope.original_content or envelope.content,
                                     policy=policy.default)
        message_id = str(message["Message-ID"]).strip()
        if self.mode == "stall":
            self.stalled_id = message_id
            self.in_progress.set()
            await asyncio.sleep(4)
        with self.lock:
            self.message_ids.append(message_id)
            self.arrived.setdefault(message_id, []).append(time.monotonic())
        return "250 Message accepted for delivery"


class Sink:
    def __init__(self):
        self.port = free_port()
        self.handler = _SinkHandler()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


# Redis of our own, for the request limits every app process shares --------------------


class Redis:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


# Processes ------------------------------------------------------------------------------


class Processes:
    def __init__(self, folder: Path, env: dict):
        self.folder = folder
        self.env = env
        self.running: dict[str, subprocess.Popen] = {}
        self.hosts: dict[str, dict] = {}

    def host_env(self, host: str) -> dict:
        return {**self.env, "SEARCH_INDEX_DIR": str(self.folder / f"index-{host}")}

    def flask(self, host: str, *args, check=True) -> subprocess.CompletedProcess:
        done = subprocess.run([BIN / "flask", "--app", "wsgi", *args], cwd=ROOT,
                              env=self.host_env(host), capture_output=True, text=True,
                              timeout=300)
        if check and done.returncode:
            raise RuntimeError(f"`flask {' '.join(args)}` failed:\n{done.stderr[-3000:]}")
        return done

    def start(self, name: str, command: list, host: str) -> None:
        output = open(self.folder / f"{name}.log", "a")  # noqa: SIM115  (kept open for the child)
        self.running[name] = subprocess.Popen([str(c) for c in command], cwd=ROOT,
                                              env=self.host_env(host), stdout=output,
                                              stderr=subprocess.STDOUT)

    def start_web(self, host: str) -> int:
        port = free_port()
        self.hosts[host] = {"port": port}
        self.start(f"web-{host}", [BIN / "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                   "--workers", "2", "--timeout", "30",
                                   "--graceful-timeout", "5", "--bind", f"127.0.0.1:{port}",
                                   "wsgi:app"], host)
        return port

    def start_worker(self, host: str) -> None:
        self.start(f"worker-{host}", [BIN / "flask", "--app", "wsgi", "worker",
                                      "--interval", "1"], host)

    def sending_to(self, port: int) -> int | None:
        """The pid of the process with a connection open to `port` (the relay)."""
        listing = subprocess.run(["/usr/bin/ss", "-tnpH", "dst", f"127.0.0.1:{port}"],
                                 capture_output=True, text=True).stdout
        found = re.search(r"pid=(\d+)", listing)
        return int(found.group(1)) if found else None

    def name_of(self, pid: int) -> str:
        for name, process in self.running.items():
            if process.pid == pid:
                return name
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        for name, process in self.running.items():
            if process.pid == parent:
                return f"a gunicorn worker of {name}"
        return f"process {pid}"

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        process = self.running.pop(name, None)
        if process and process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.kill(name, signal.SIGTERM)


def wait_until(check, timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001, S110  (not yet: try again)
            pass
        time.sleep(every)
    return False


# Clients --------------------------------------------------------------------------------


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Reply:
    status: int  # 0: no answer (refused, reset or timed out)
    text: str
    location: str
    seconds: float


@dataclass
class Ledger:
    """Everything the clients saw, and every write the register acknowledged."""

    calls: list = field(default_factory=list)  # (phase, label, status, seconds)
    sent: list = field(default_factory=list)  # (request id, mentee email, profile id)
    answered: list = field(default_factory=list)  # (request id, "accepted" | ...)
    phase: str = "warm-up"
    lock: threading.Lock = field(default_factory=threading.Lock)

    server_errors: list = field(default_factory=list)  # (phase, method, path, status)

    def record(self, label: str, reply: Reply, method: str = "", path: str = "") -> None:
        with self.lock:
            self.calls.append((self.phase, label, reply.status, reply.seconds))
            if reply.status >= 500 and reply.status != 503 or reply.status == 0:
                self.server_errors.append((self.phase, method, path[:80], reply.status))


class Counted:
    """A thread-safe count of clients that got in."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def add(self) -> bool:
        with self.lock:
            self.count += 1
        return True


class Client:
    """One person's browser: cookies, the CSRF token, and either host."""

    def __init__(self, ledger: Ledger, ports: list[int]):
        self.ledger = ledger
        self.ports = ports
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()), _NoRedirect())
        self.token = ""

    def call(self, method: str, path: str, label: str, *, form=None, body=None,
             content_type=None, headers=None, port=None) -> Reply:
        port = port or random.choice(self.ports)
        data = urlencode(form, doseq=True).encode() if form is not None else body
        request = Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                          headers={"Host": HOST_HEADER, **(headers or {})})
        if form is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        elif content_type:
            request.add_header("Content-Type", content_type)
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=CLIENT_TIMEOUT) as response:
                reply = Reply(response.status, response.read().decode("utf-8", "replace"),
                              "", 0)
        except HTTPError as error:
            reply = Reply(error.code, error.read().decode("utf-8", "replace"),
                          error.headers.get("Location", ""), 0)
        except (URLError, OSError):
            reply = Reply(0, "", "", 0)
        reply.seconds = time.monotonic() - started
        self.ledger.record(label, reply, method, path)
        match = re.search(r'name="csrf-token" content="([^"]+)"', reply.text)
        if match:
            self.token = match.group(1)
        return reply

    def post(self, path: str, label: str, form: dict, **kwargs) -> Reply:
        if not self.token:
            self.call("GET", "/mentors", "search")
        return self.call("POST", path, label, form={**form, "csrf_token": self.token}, **kwargs)

    def log_in(self, email: str, password: str) -> bool:
        for _ in range(20):
            self.call("GET", "/auth/login", "login page")
            reply = self.post("/auth/login", "log in", {"email": email, "password": password})
            if reply.status == 302:
                self.call("GET", "/", "home")  # a fresh token for the new session
                return True
            time.sleep(1)
        return False


WORDS = ["leadership", "strategy", "nursing", "finance", "confidence", "change", "policy",
         "engineering", "research", "quality", "career", "networks", "data", "teaching"]

REQUEST_FORM = {
    "subject": "15 minutes of your time – your experience in quality improvement",
    "aspiration": "In ten years I aspire to lead quality improvement across a whole trust.",
    "why_you": "Your improvement programmes in three hospitals are the path I hope to follow.",
    "ask": "call15", "kind": "informal", "contexts": ["career"], "knowing": ["how"],
    "formats": ["telephone", "video"], "availability": "Weekday mornings, or Thursday evenings.",
    "step": "send",
}


def send_request(client: Client, ledger: Ledger, email: str, profile: int,
                 **changes) -> int | None:
    reply = client.post(f"/mentors/{profile}/request", "send request",
                        {**REQUEST_FORM, **changes})
    found = re.search(r"/requests/(\d+)$", reply.location or "")
    if reply.status == 302 and found:
        with ledger.lock:
            ledger.sent.append((int(found.group(1)), email, profile))
        return int(found.group(1))
    return None


def mentee_loop(ledger: Ledger, client: Client, email: str, setup: dict, stop: threading.Event):
    mine: list[int] = []
    busy = [mentor["profile"] for mentor in setup["busy"]]
    while not stop.is_set():
        roll = random.random()
        if roll < 0.45:
            client.call("GET", f"/mentors?q={random.choice(WORDS)}", "search")
        elif roll < 0.60:
            client.call("GET", f"/mentors/{random.choice(setup['profiles'])}", "profile")
        elif roll < 0.80:
            sent = send_request(client, ledger, email, random.choice(busy))
            if sent:
                mine.append(sent)
        elif roll < 0.90 and mine:
            request_id = mine.pop(random.randrange(len(mine)))
            reply = client.post(f"/requests/{request_id}/withdraw", "withdraw", {},
                                headers={"HX-Request": "true"})
            if reply.status == 200:
                with ledger.lock:
                    ledger.answered.append((request_id, "withdrawn"))
        else:
            client.call("GET", "/me/requests?box=sent", "inbox")
        time.sleep(random.uniform(0.05, 0.3))


def mentor_loop(ledger: Ledger, client: Client, stop: threading.Event):
    while not stop.is_set():
        page = client.call("GET", "/me/requests?box=received", "inbox")
        waiting = re.findall(r'/requests/(\d+)/accept"', page.text)
        if waiting:
            request_id = int(random.choice(waiting))
            if random.random() < 0.6:
                action, form = "accept", {}
            else:
                action, form = "decline", {"reason": "unavailable"}
            reply = client.post(f"/requests/{request_id}/{action}", action, form,
                                headers={"HX-Request": "true"})
            if reply.status == 200:
                with ledger.lock:
                    ledger.answered.append((request_id, f"{action}ed".replace("ee", "e")))
        time.sleep(random.uniform(0.3, 1.0))


# Faults ---------------------------------------------------------------------------------


HOSTILE = [
    ("GET", "/mentors?q=lead%00ership", None, None, {422}),
    ("GET", "/mentors/99999999999999999999999", None, None, {404}),
    ("GET", "/requests/99999999999999999999", None, None, {302, 404}),
    ("GET", "/mentors?q=%ff%fe%00", None, None, {422}),
    ("GET", "/mentors?q=" + "x" * 5000, None, None, {200, 400, 414, 422}),  # 400: gunicorn
    ("GET", "/mentors?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", None, None, {200}),
    ("POST", "/auth/login", b"email=\xff\xfe&password=x", "application/x-www-form-urlencoded",
     {400}),
    ("POST", "/auth/login", b'{"email": "a@example.org"}', "application/json", {415}),
    ("POST", "/auth/login", b"--b\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\nx",
     "multipart/form-data; boundary=b", {400}),
    ("POST", "/auth/login", b"a=b", "multipart/form-data", {400}),
    ("POST", "/auth/login", b"email=a%00b%40example.org&password=x",
     "application/x-www-form-urlencoded", {422}),
    ("POST", "/auth/login", b"x" * (3 * 1024 * 1024), "application/x-www-form-urlencoded",
     {413}),
]


def hostile_inputs(ledger: Ledger, client: Client, racer_email: str, setup: dict) -> dict:
    """Hostile requests: each must get the answer that says what was wrong, never a 500."""
    outcomes = Counter()
    for method, path, body, content_type, expected in HOSTILE:
        reply = client.call(method, path, "hostile", body=body, content_type=content_type)
        outcomes["as expected" if reply.status in expected
                 else f"{method} {path[:40]!r} got {reply.status}"] += 1
        if "script" in path and "<script>alert(1)" in reply.text:
            outcomes["markup echoed unescaped"] += 1
    # Markup in a request reaches the mentor's page as text.
    markup = "<img src=x onerror=alert('proof')> I aspire to lead <b>everything</b>."
    sent = send_request(client, ledger, racer_email, setup["spare"]["profile"], aspiration=markup)
    if sent:
        page = client.call("GET", f"/requests/{sent}", "request page")
        escaped = "&lt;img src=x" in page.text and "<img src=x" not in page.text
        outcomes["markup stored and shown as text" if escaped else "markup not escaped"] += 1
    else:
        outcomes["markup request refused"] += 1
    huge = send_request(client, ledger, racer_email, setup["busy"][0]["profile"],
                        aspiration="x" * 200_000)
    outcomes["huge field refused" if huge is None else "huge field accepted"] += 1
    return dict(outcomes)


def capacity_race(ledger: Ledger, racers: list[Client], emails: list[str], mentor: Client,
                  setup: dict) -> dict:
    """Four mentees ask a mentor with one place; the mentor's accepts arrive all at once."""
    profile = setup["race"]["profile"]
    ids = [send_request(client, ledger, email, profile)
           for client, email in zip(racers, emails, strict=True)]
    ids = [i for i in ids if i]
    start = threading.Barrier(len(ids))
    statuses = []

    def accept(request_id, port):
        start.wait()
        reply = mentor.post(f"/requests/{request_id}/accept", "accept (race)", {},
                            headers={"HX-Request": "true"}, port=port)
        statuses.append(reply.status)
        if reply.status == 200:
            with ledger.lock:
                ledger.answered.append((request_id, "accepted"))

    mentor.call("GET", "/me/requests?box=received", "inbox")
    threads = [threading.Thread(target=accept, args=(request_id, mentor.ports[n % 2]))
               for n, request_id in enumerate(ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return {"requests": len(ids), "accepted": statuses.count(200),
            "refused": statuses.count(409), "other": len(statuses) - statuses.count(200)
            - statuses.count(409)}


def duplicate_submissions(ledger: Ledger, client: Client, email: str, setup: dict) -> dict:
    """The same request posted three times at once (a double click, a retry)."""
    profile = setup["spare"]["profile"]
    client.call("GET", f"/mentors/{profile}/request", "compose")
    start = threading.Barrier(3)
    made = []

    def post():
        start.wait()
        made.append(send_request(client, ledger, email, profile,
                                 subject="One request, sent three times at once"))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return {"posted": 3, "created": len([m for m in made if m])}


def damage_index(folder: Path) -> str:
    live = (folder / "current").resolve()
    segments = sorted(live.glob("*.seg"), key=lambda p: p.stat().st_size, reverse=True)
    if not segments:
        return "no segment file to damage"
    target = segments[0]
    size = target.stat().st_size
    with open(target, "r+b") as handle:
        handle.truncate(size // 2)
    return f"truncated {target.name} from {size} to {size // 2} bytes"


# The run --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run(args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="register-proof-"))
    os.chmod(folder, 0o755)  # noqa: S103  (the postgres user reaches its folder)
    started = time.monotonic()
    pg = Postgres(folder)
    sink = Sink()
    procs = None
    redis = Redis(folder)
    faults: list[dict] = []
    try:
        log(f"PostgreSQL of our own on 127.0.0.1:{pg.port} in {pg.data}")
        pg.create()
        sink.start()
        redis.start()
        env = {**os.environ, "DATABASE_URL": pg.url(), "SECRET_KEY": secrets.token_urlsafe(48),
               "SERVER_NAME": HOST_HEADER, "PREFERRED_URL_SCHEME": "http",
               "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port),
               "MAIL_DEFAULT_SENDER": "Mentor Register <register@register.test>",
               "DATABASE_STATEMENT_TIMEOUT": "5", "DATABASE_CONNECT_TIMEOUT": "3",
               "DATABASE_POOL_TIMEOUT": "5", "FLASK_DEBUG": "0", "REGISTER_ENV": "production",
               "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis.port}/0"}
        procs = Processes(folder, env)
        log("Migrating from two hosts at once (advisory lock)")
        upgrades = [subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
                                     cwd=ROOT, env=procs.host_env(host),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    for host in ("a", "b")]
        codes = [u.wait(300) for u in upgrades]
        if any(codes):
            raise RuntimeError("db upgrade failed: " + " | ".join(
                u.stderr.read().decode()[-2000:] for u in upgrades))
        faults.append({"fault": "`db upgrade` from two hosts at once",
                       "outcome": "both succeeded" if codes == [0, 0] else f"exit codes {codes}",
                       "ok": codes == [0, 0]})
        seeded = subprocess.run([BIN / "python", "proof/seed.py", str(MENTEES),
                                 str(MENTORS_IN_REGISTER), str(BUSY_MENTORS)], cwd=ROOT,
                                env={**env, "REGISTER_ENV": "development"}, capture_output=True,
                                text=True, check=False)
        if seeded.returncode:
            raise RuntimeError(f"seeding failed: {seeded.stderr[-3000:]}")
        setup = json.loads(seeded.stdout.strip().splitlines()[-1])
        for host in ("a", "b"):
            procs.flask(host, "search", "rebuild", "--processes", "1")
        ports = [procs.start_web(host) for host in ("a", "b")]
        for host in ("a", "b"):
            procs.start_worker(host)
        for port in ports:
            if not wait_until(lambda p=port: Client(Ledger(), [p]).call(
                    "GET", "/readyz", "ready").status == 200, 60):
                raise RuntimeError(f"the host on port {port} never became ready")
        log(f"Two hosts ready on ports {ports}; {len(setup['profiles'])} published profiles")

        ledger = Ledger()
        stop = threading.Event()
        logged_in = Counted()
        clients = []
        # People arrive over a few seconds, not all in the same instant: each login is a
        # deliberately slow password check (Argon2id, 64 MiB).
        for number, email in enumerate(setup["mentees"]):
            client = Client(ledger, ports)
            clients.append(threading.Thread(target=lambda c=client, e=email, n=number: (
                time.sleep(n * 0.75) or c.log_in(e, setup["password"]) and logged_in.add()
                and mentee_loop(ledger, c, e, setup, stop))))
        for number, mentor in enumerate(setup["busy"], start=len(setup["mentees"])):
            client = Client(ledger, ports)
            clients.append(threading.Thread(target=lambda c=client, e=mentor["email"], n=number: (
                time.sleep(n * 0.75) or c.log_in(e, setup["password"]) and logged_in.add()
                and mentor_loop(ledger, c, stop))))
        for thread in clients:
            thread.start()
        # Sixteen password checks (Argon2, 64 MiB each) come first; the faults wait for them.
        if not wait_until(lambda: logged_in.count >= len(clients), 180):
            log(f"only {logged_in.count} of {len(clients)} clients could log in")
        load_started = time.monotonic()

        def phase(name: str, seconds: float = 0) -> None:
            ledger.phase = name
            log(f"phase: {name}")
            if seconds:
                time.sleep(seconds * args.scale)

        phase("warm-up", 15)

        phase("SMTP refusing (451)")
        sink.handler.mode = "refuse"
        time.sleep(15 * args.scale)
        phase("SMTP down")
        sink.stop()
        time.sleep(15 * args.scale)
        sink.handler.mode = "accept"
        sink.start()
        faults.append({"fault": "SMTP refusing (451), then down, for 30 s", "ok": True,
                       "outcome": "mail kept in the outbox and retried (see Mail below)"})

        phase("worker killed mid-send")
        sink.handler.in_progress.clear()
        sink.handler.mode = "stall"
        # The worker sends the mail the load queues; wait until one is on the wire. On a
        # quick machine the load may already have sent every request it could, so the
        # proof also asks for a password reset (an email) until one is on the wire.
        asker = Client(ledger, ports)
        for _ in range(9):
            asker.post("/auth/forgot-password", "forgot password",
                       {"email": setup["mentees"][0]})
            if sink.handler.in_progress.wait(5):
                break
        caught = sink.handler.in_progress.wait(45)
        # Kill whichever process is talking to the relay: a background worker, or a web
        # process draining the outbox after a response (gunicorn starts a new one).
        sender, who = procs.sending_to(sink.port), "nobody"
        if sender:
            who = procs.name_of(sender)
            os.kill(sender, signal.SIGKILL)
        killed_at = time.monotonic()
        stalled = sink.handler.stalled_id
        sink.handler.mode = "accept"
        time.sleep(2)
        if who.startswith("worker-"):
            procs.running.pop(who, None)
            procs.start_worker(who.removeprefix("worker-"))
        delivered = wait_until(lambda: any(t > killed_at for t in
                                           sink.handler.arrived.get(stalled, [])), 90)
        later = min((t for t in sink.handler.arrived.get(stalled, []) if t > killed_at),
                    default=None)
        faults.append({
            "fault": "`kill -9` of the process sending while the relay held a message "
                     "(before its 250)",
            "ok": caught and delivered and sender is not None,
            "outcome": (f"killed {who}; that message arrived {later - killed_at:.0f} s "
                        "after the kill (its 30 s lease lapsed), the rest at once")
            if caught and later else "no message reached the relay in 45 s" if not caught
            else "the held message never arrived"})
        time.sleep(10 * args.scale)

        phase("database stopped")
        pg.stop("fast")
        time.sleep(10 * args.scale)
        pg.start()
        faults.append({"fault": "PostgreSQL stopped for 10 s (pg_ctl stop -m fast), then "
                       "started", "ok": True, "outcome": "see 503s and errors by phase"})
        phase("after the database came back", 10)

        phase("database frozen (postmaster stopped)")
        postmaster = pg.postmaster_pid()
        os.kill(postmaster, signal.SIGSTOP)
        time.sleep(10 * args.scale)
        os.kill(postmaster, signal.SIGCONT)
        phase("database frozen (a lock held)")
        with psycopg.connect(pg.url()) as holder:
            holder.execute("LOCK TABLE mentor_profile, intro_request IN ACCESS EXCLUSIVE MODE")
            time.sleep(10 * args.scale)
            holder.rollback()
        faults.append({"fault": "PostgreSQL frozen: postmaster SIGSTOPped 10 s; then two "
                       "tables locked 10 s", "ok": True, "outcome": "see latency by phase"})
        phase("after the freeze", 5)

        phase("index damaged on host b")
        what = damage_index(folder / "index-b")
        log(what)
        time.sleep(20 * args.scale)
        faults.append({"fault": "search index damaged on host b", "ok": True,
                       "outcome": what})

        phase("races and hostile input")
        racers = [Client(ledger, ports) for _ in setup["racers"]]
        for client, email in zip(racers, setup["racers"], strict=True):
            client.log_in(email, setup["password"])
        race_mentor = Client(ledger, ports)
        race_mentor.log_in(setup["race"]["email"], setup["password"])
        race = capacity_race(ledger, racers, setup["racers"], race_mentor, setup)
        faults.append({"fault": "four accepts at once for one place", "ok":
                       race["accepted"] <= 1 and race["other"] == 0,
                       "outcome": f"{race['accepted']} accepted, {race['refused']} refused"})
        duplicates = duplicate_submissions(ledger, racers[1], setup["racers"][1], setup)
        faults.append({"fault": "the same request posted three times at once",
                       "ok": duplicates["created"] <= 1,
                       "outcome": f"{duplicates['created']} request created"})
        hostile = hostile_inputs(ledger, racers[2], setup["racers"][2], setup)
        bad = {k: v for k, v in hostile.items() if k not in (
            "as expected", "markup stored and shown as text", "huge field refused")}
        faults.append({"fault": f"hostile inputs ({len(HOSTILE) + 2} kinds: NUL, huge, "
                       "wrong encodings, markup, broken multipart, JSON)", "ok": not bad,
                       "outcome": ", ".join(f"{v} {k}" for k, v in hostile.items())})

        phase("settle", 10)
        stop.set()
        for thread in clients:
            thread.join(60)
        load_seconds = time.monotonic() - load_started
        log("Load stopped; letting the workers finish the mail and the indexes")
        ledger.phase = "checks"

        results = check_invariants(pg, procs, sink, ledger)
        results["tracebacks"] = unhandled_errors(folder)
        results.update(setup=setup, faults=faults, load_seconds=load_seconds,
                       total_seconds=time.monotonic() - started, ports=ports)
        return results
    finally:
        if procs:
            procs.stop_all()
        sink.stop()
        redis.stop()
        pg.stop("immediate")
        # The hosts' and workers' logs outlive the run, for whoever reads the report.
        logs = Path(tempfile.gettempdir()) / "register-proof-logs"
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir()
        for found in folder.glob("*.log"):
            shutil.copy(found, logs / found.name)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            log(f"kept {folder}")


def check_invariants(pg: Postgres, procs: Processes, sink: Sink, ledger: Ledger) -> dict:
    def query(sql: str, *params):
        with psycopg.connect(pg.url()) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    # Time passes for mail waiting on its backoff: bring the retries forward.
    def outbox_done():
        query("UPDATE outbox_message SET next_attempt_at = now() AT TIME ZONE 'UTC' "
              "WHERE status = 'pending'")
        return query("SELECT count(*) FROM outbox_message WHERE status = 'pending'")[0][0] == 0

    mail_settled = wait_until(outbox_done, 180, every=3)
    in_sync = {}
    for host in ("a", "b"):
        in_sync[host] = wait_until(
            lambda h=host: procs.flask(h, "search", "check", check=False).returncode == 0, 120,
            every=5)
    checks = procs.flask("a", "search", "check", check=False), \
        procs.flask("b", "search", "check", check=False)

    # Acknowledged writes.
    rows = {row[0]: row[1:] for row in query(
        "SELECT r.id, u.email, r.profile_id, r.state FROM intro_request r "
        "JOIN \"user\" u ON u.id = r.mentee_id")}
    missing = [s for s in ledger.sent if s[0] not in rows or rows[s[0]][:2] != (s[1], s[2])]
    final = {"accepted": "accepted", "declined": "declined", "withdrawn": "withdrawn"}
    wrong_answers = [a for a in ledger.answered
                     if a[0] not in rows or rows[a[0]][2] != final[a[1]]]
    # Capacity and duplicates.
    over_capacity = query(
        "SELECT p.id, p.capacity, count(m.id) FROM mentor_profile p JOIN mentorship m "
        "ON m.mentor_id = p.user_id AND m.status = 'active' GROUP BY p.id, p.capacity "
        "HAVING count(m.id) > p.capacity")
    double_pending = query(
        "SELECT mentee_id, profile_id, count(*) FROM intro_request WHERE state = 'pending' "
        "GROUP BY mentee_id, profile_id HAVING count(*) > 1")
    # Mail.
    outbox = query("SELECT message_id, status FROM outbox_message")
    received = Counter(sink.handler.message_ids)
    statuses = Counter(status for _, status in outbox)
    undelivered = [mid for mid, status in outbox if status == "sent" and mid not in received]
    unknown = [mid for mid in received if mid not in {m for m, _ in outbox}]
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    return {
        "ledger": ledger,
        "mail": {"queued": len(outbox), "statuses": dict(statuses), "settled": mail_settled,
                 "received": sum(received.values()), "unique": len(received),
                 "duplicates": duplicates, "undelivered": len(undelivered),
                 "unknown": len(unknown)},
        "writes": {"sent": len(ledger.sent), "answered": len(ledger.answered),
                   "missing": missing, "wrong_answers": wrong_answers},
        "capacity": {"over": over_capacity, "double_pending": double_pending},
        "indexes": {host: {"in_sync": in_sync[host],
                           "check": (c.stdout + c.stderr).strip().splitlines()[-1:]}
                    for host, c in zip(("a", "b"), checks, strict=True)},
    }


def unhandled_errors(folder: Path) -> list[list[str]]:
    """The last lines of each traceback Flask logged for a request it answered with 500."""
    found = []
    for log_file in sorted(folder.glob("web-*.log")):
        lines = log_file.read_text(errors="replace").splitlines()
        for number, line in enumerate(lines):
            if "Exception on /" in line:
                block = [line]
                for following in lines[number + 1:number + 200]:
                    if following.startswith("[20"):
                        break
                    block.append(following)
                found.append([block[0], *block[-12:]])
    return found


# The report -----------------------------------------------------------------------------


def report(results: dict) -> tuple[str, bool]:
    ledger: Ledger = results["ledger"]
    calls = ledger.calls
    statuses = Counter(status for _, _, status, _ in calls)
    seconds = [s for _, _, _, s in calls]
    server_errors = sum(n for status, n in statuses.items() if status >= 500 and status != 503)
    no_answer = statuses.get(0, 0)
    hangs = sum(1 for s in seconds if s > HANG_SECONDS)
    by_phase = defaultdict(list)
    for phase, _, status, took in calls:
        by_phase[phase].append((status, took))
    mail, writes, capacity, indexes = (results[k] for k in ("mail", "writes", "capacity",
                                                           "indexes"))
    invariants = [
        ("every acknowledged write is in the database",
         not writes["missing"] and not writes["wrong_answers"],
         f"{writes['sent']} requests sent and {writes['answered']} answers acknowledged; "
         f"{len(writes['missing'])} missing, {len(writes['wrong_answers'])} in another state"),
        ("every queued email delivered at least once",
         mail["settled"] and not mail["undelivered"] and not mail["statuses"].get("failed"),
         f"{mail['queued']} queued, {mail['unique']} distinct delivered, "
         f"{mail['undelivered']} not delivered, {mail['statuses'].get('failed', 0)} given up"),
        ("duplicates only from a crash window, counted", mail["duplicates"] <= 1,
         f"{mail['duplicates']} duplicate deliveries (same Message-ID)"),
        ("capacity never exceeded", not capacity["over"],
         f"{len(capacity['over'])} mentors over capacity"),
        ("one waiting request per mentee and mentor", not capacity["double_pending"],
         f"{len(capacity['double_pending'])} duplicates"),
        ("both hosts' indexes equal the database",
         all(v["in_sync"] for v in indexes.values()),
         "; ".join(f"host {h}: {' '.join(v['check'])}" for h, v in indexes.items())),
        ("no 500", server_errors == 0,
         f"{server_errors} answers 500-599 other than 503"),
        ("no hang past the timeouts", hangs == 0 and no_answer == 0,
         f"{hangs} over {HANG_SECONDS:.0f} s, {no_answer} without an answer; slowest "
         f"{max(seconds, default=0):.1f} s"),
    ]
    ok = all(passed for _, passed, _ in invariants) and all(f["ok"] for f in results["faults"])
    lines = [
        "# Reliability under load and faults",
        "",
        "Written by `make proof` (`proof/run.py`). Everything ran on loopback on one "
        "machine: a PostgreSQL cluster of the proof's own, two app hosts (gunicorn, 2 "
        "workers each) with separate search indexes, one worker per host, and an SMTP sink. "
        f"{MENTEES} mentees and {BUSY_MENTORS} mentors used both hosts at once while the "
        "faults below were injected one after another. Tests never assert these figures.",
        "",
        f"Result: **{'all invariants held' if ok else 'SOME INVARIANTS FAILED'}**. "
        f"Run on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; load for "
        f"{results['load_seconds']:.0f} s, whole run {results['total_seconds']:.0f} s.",
        "",
        "## Requests",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| requests | {len(calls)} |",
        f"| answered 2xx/3xx | {sum(n for s, n in statuses.items() if 200 <= s < 400)} |",
        f"| answered 4xx (refusals, hostile input) | "
        f"{sum(n for s, n in statuses.items() if 400 <= s < 500)} |",
        f"| answered 503 (database away, with Retry-After) | {statuses.get(503, 0)} |",
        f"| answered 500-599 other than 503 | {server_errors} |",
        f"| no answer (reset, refused, timed out) | {no_answer} |",
        f"| error rate (500s and no answer) | "
        f"{(server_errors + no_answer) / max(len(calls), 1):.2%} |",
        f"| p50 / p95 / p99 | {percentile(seconds, .5) * 1000:.0f} / "
        f"{percentile(seconds, .95) * 1000:.0f} / {percentile(seconds, .99) * 1000:.0f} ms |",
        f"| slowest | {max(seconds, default=0):.2f} s |",
        "",
        "## By phase",
        "",
        "| phase | requests | 503 | other 5xx | no answer | p95 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for phase, entries in by_phase.items():
        took = [t for _, t in entries]
        phase_statuses = Counter(s for s, _ in entries)
        lines.append(
            f"| {phase} | {len(entries)} | {phase_statuses.get(503, 0)} | "
            f"{sum(n for s, n in phase_statuses.items() if s >= 500 and s != 503)} | "
            f"{phase_statuses.get(0, 0)} | {percentile(took, .95) * 1000:.0f} ms |")
    by_label = defaultdict(list)
    for _, label, _status, took in calls:
        by_label[label].append(took)
    lines += ["", "## By kind of request", "", "| kind | requests | p50 | p95 |",
              "| --- | --- | --- | --- |"]
    for label, took in sorted(by_label.items(), key=lambda item: -len(item[1])):
        lines.append(f"| {label} | {len(took)} | {percentile(took, .5) * 1000:.0f} ms | "
                     f"{percentile(took, .95) * 1000:.0f} ms |")
    if ledger.server_errors:
        lines += ["", "## Server errors and unanswered requests", "",
                  "| phase | request | status |", "| --- | --- | --- |"]
        for phase, method, path, status in ledger.server_errors[:30]:
            lines.append(f"| {phase} | {method} `{path}` | {status or 'no answer'} |")
        for cause in results.get("tracebacks", [])[:3]:
            lines += ["", "```", *cause, "```"]
    lines += ["", "## Faults", "", "| fault | survived | what happened |", "| --- | --- | --- |"]
    for fault in results["faults"]:
        lines.append(f"| {fault['fault']} | {'yes' if fault['ok'] else 'NO'} | "
                     f"{fault['outcome']} |")
    lines += ["", "## Invariants", "", "| invariant | held | figures |", "| --- | --- | --- |"]
    for name, passed, detail in invariants:
        lines.append(f"| {name} | {'yes' if passed else 'NO'} | {detail} |")
    lines += [
        "",
        "## Mail",
        "",
        f"{mail['queued']} messages queued; {mail['received']} deliveries reached the sink, "
        f"{mail['unique']} distinct Message-IDs, {mail['duplicates']} duplicate(s). Delivery "
        "is at least once: a worker killed between the relay's 250 and its commit sends "
        "that one message again, with the same Message-ID, after a 30-second lease. At the "
        "end the proof brings waiting retries forward (as time would) and waits for the "
        "outbox to empty.",
        "",
        "## What this does not show",
        "",
        "- One machine, loopback only, two cores shared by the database, both hosts, the "
        "workers and the clients (and, when it ran, other work): the latencies say how the "
        "register degrades, not how fast production is. Logins are slow on purpose "
        "(Argon2id, 64 MiB).",
        "- The kill lands while the relay holds the message, before its 250, so that "
        "message is sent again without being a duplicate. A kill between the 250 and the "
        "commit would deliver it twice, with the same Message-ID; the window is one "
        "database round trip and is not forced here.",
        "- Freezing the postmaster stops new connections only; pooled connections go on. A "
        "frozen backend (not a lock) cannot be timed out by the server; gunicorn's 30 s "
        "timeout is then the last resort, and is not exercised here.",
        "- Mail waiting on its backoff after the relay failures is brought forward at the "
        "end (as time would), so the run does not wait minutes for it.",
        "",
        "## How it was measured",
        "",
        "`make proof` runs `proof/run.py`. Each client is a Python thread with its own "
        "cookies, choosing a host at random for each request; latency is from sending the "
        "request to reading the whole answer, on a client timeout of "
        f"{CLIENT_TIMEOUT:.0f} s (gunicorn's is 30 s). The app hosts run with "
        "`DATABASE_STATEMENT_TIMEOUT=5` and `DATABASE_CONNECT_TIMEOUT=3`.",
        "",
    ]
    return "\n".join(lines), ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", help="write the report to this file")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every phase's length (0.5 for a quick look)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    results = run(args)
    text, ok = report(results)
    print(text)
    if args.write:
        Path(args.write).write_text(text)
        log(f"wrote {args.write}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
