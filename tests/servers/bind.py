"""A real BIND9 ``named`` on 127.0.0.1, authoritative for ``example.test``, changed by RFC 2136.

The server listens on one free port for UDP and TCP, serves the primary zone ``example.test``
(which allows dynamic updates from 127.0.0.1), does no recursion (so a question about any other
zone is REFUSED), accepts names a zone check would reject (hostile data is the point) and logs
every query, so tests can count what a client asked. Records are
changed at run time with dnspython's ``dns.update`` over TCP, as an operator's tooling would.

``stop()`` and ``start()`` take the server away and bring it back on the same port with the same
data (BIND keeps dynamic updates in its journal).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.update

ZONE = "example.test"
HOST = "127.0.0.1"
START_TIMEOUT = 10.0

_NAMED_CONF = """\
options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    session-keyfile "{dir}/session.key";
    managed-keys-directory "{dir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    querylog yes;
    check-names primary ignore;
{limits}}};
controls {{ }};
zone "{zone}" {{ type primary; file "{zone}.zone"; allow-update {{ 127.0.0.1; }}; }};
"""

# Negative answers are cached for 30 s (the SOA minimum); records default to 60 s.
_ZONE_FILE = """\
$TTL 60
@   IN SOA ns.{zone}. admin.{zone}. 1 3600 600 86400 30
@   IN NS  ns.{zone}.
ns  IN A   127.0.0.1
"""

# BIND 9.18.28+ refuses more than 100 records of one type at a name (CVE-2024-1737); tests need
# more. Older versions do not know the options, so they are dropped when named says so.
_LIMITS = "    max-records-per-type 0;\n    max-types-per-name 0;\n"

_QUERY_LINE = re.compile(r"query: (?P<name>\S+) IN (?P<type>\S+) (?P<flags>\S+)")


def find_named() -> str | None:
    """``$SYNCD_TEST_NAMED``, else ``named`` on PATH or in /usr/sbin (Debian does not put it on PATH)."""
    for candidate in (os.environ.get("SYNCD_TEST_NAMED"), shutil.which("named"), "/usr/sbin/named"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((HOST, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both TCP and UDP on 127.0.0.1")


def fqdn(name: str) -> str:
    """``web`` → ``web.example.test.``; names in the zone or absolute (``x.other.``) are kept."""
    if name.endswith("."):
        return name
    if name == ZONE or name.endswith("." + ZONE):
        return name + "."
    return f"{name}.{ZONE}."


class BindServer:
    """One ``named`` process in ``workdir``; see the module docstring."""

    def __init__(self, workdir: Path, named: str) -> None:
        self.workdir = workdir
        self.named = named
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self._limits = _LIMITS
        self._binary = named

    @property
    def nameserver(self) -> str:
        """The server as the adapter's ``nameservers`` entry spells it."""
        return f"{HOST}:{self.port}"

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start (or restart on the same port) and return once it answers an SOA query."""
        if self.process is not None:
            return
        first_start = not self.port
        if first_start:
            self.port = free_port()
            self._write_config()
        for _ in range(5):
            seen = len(self.log_text())
            try:
                self._spawn(self._binary)
                return
            except RuntimeError:
                log = self.log_text()[seen:]
                if self._limits and "max-records-per-type" in log:
                    self._limits = ""  # an older BIND without the options (and without the limit)
                elif first_start and "unable to listen" in log:
                    self.port = free_port()  # taken since free_port() looked: try another
                elif self._binary == self.named:
                    # Ubuntu's AppArmor profile confines /usr/sbin/named to /etc/bind and
                    # /var/cache/bind; the same binary run from another path may use our temp dir.
                    self._binary = str(self.workdir / "named-bin")
                    shutil.copy2(self.named, self._binary)
                else:
                    raise
                self._write_config()
        raise RuntimeError(f"named would not start; see {self.workdir / 'named.log'}")

    def stop(self) -> None:
        """Stop the server; queries then time out (nothing listens on the port)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def _write_config(self) -> None:
        directory = str(self.workdir)
        conf = _NAMED_CONF.format(dir=directory, port=self.port, zone=ZONE, limits=self._limits)
        (self.workdir / "named.conf").write_text(conf)
        (self.workdir / f"{ZONE}.zone").write_text(_ZONE_FILE.format(zone=ZONE))

    def _spawn(self, binary: str) -> None:
        log = (self.workdir / "named.log").open("ab")
        command = [binary, "-c", str(self.workdir / "named.conf"), "-g", "-n", "1", "-4"]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self._answers():
                return
            time.sleep(0.01)
        self.stop()
        tail = self.log_text()[-2000:]
        raise RuntimeError(f"named did not start on {self.nameserver}; its log ends:\n{tail}")

    def _answers(self) -> bool:
        query = dns.message.make_query(ZONE, "SOA")
        try:
            response = dns.query.udp(query, HOST, port=self.port, timeout=0.05)
        except (OSError, dns.exception.DNSException):
            return False
        return response.rcode() == dns.rcode.NOERROR

    # -- data -------------------------------------------------------------------------------------

    def add_srv(self, name: str, priority: int, weight: int, port: int, target: str, ttl: int = 60) -> None:
        self.update(add=[(name, ttl, "SRV", f"{priority} {weight} {port} {fqdn_or_root(target)}")])

    def add_srvs(self, name: str, records: Iterable[tuple[int, int, int, str]], ttl: int = 60) -> None:
        """Many SRV records at one name in a single update."""
        rdatas = [f"{p} {w} {port} {fqdn_or_root(t)}" for p, w, port, t in records]
        self.update(add=[(name, ttl, "SRV", rdata) for rdata in rdatas])

    def delete_srv(
        self, name: str, priority: int | None = None, weight: int = 0, port: int = 0, target: str = ""
    ) -> None:
        """Delete one SRV record, or every SRV record at ``name`` when only the name is given."""
        if priority is None:
            self.update(delete=[(name, "SRV", None)])
        else:
            rdata = f"{priority} {weight} {port} {fqdn_or_root(target)}"
            self.update(delete=[(name, "SRV", rdata)])

    def add_a(self, name: str, address: str, ttl: int = 60) -> None:
        self.update(add=[(name, ttl, "A", address)])

    def add_aaaa(self, name: str, address: str, ttl: int = 60) -> None:
        self.update(add=[(name, ttl, "AAAA", address)])

    def add_cname(self, name: str, target: str, ttl: int = 60) -> None:
        self.update(add=[(name, ttl, "CNAME", fqdn(target))])

    def add_txt(self, name: str, text: str, ttl: int = 60) -> None:
        self.update(add=[(name, ttl, "TXT", f'"{text}"')])

    def delete_name(self, name: str) -> None:
        """Delete every record at ``name``."""
        self.update(delete=[(name, None, None)])

    def update(
        self,
        add: Iterable[tuple[str, int, str, str]] = (),
        delete: Iterable[tuple[str, str | None, str | None]] = (),
    ) -> None:
        """One RFC 2136 update: ``add`` (name, ttl, type, rdata); ``delete`` (name, type?, rdata?)."""
        message = dns.update.UpdateMessage(ZONE)
        for name, rdtype, rdata in delete:
            if rdtype is None:
                message.delete(fqdn(name))
            elif rdata is None:
                message.delete(fqdn(name), rdtype)
            else:
                message.delete(fqdn(name), rdtype, rdata)
        for name, ttl, rdtype, rdata in add:
            message.add(fqdn(name), ttl, rdtype, rdata)
        response = dns.query.tcp(message, HOST, port=self.port, timeout=5)
        if response.rcode() != dns.rcode.NOERROR:
            raise RuntimeError(f"dynamic update refused: {dns.rcode.to_text(response.rcode())}")

    # -- what the server saw ----------------------------------------------------------------------

    def log_text(self) -> str:
        path = self.workdir / "named.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def mark_queries(self) -> None:
        """Forget the queries logged so far: ``queries()`` then lists only newer ones."""
        self._log_offset = len(self.log_text())

    def queries(self) -> list[tuple[str, str, bool]]:
        """Queries logged since ``mark_queries()``: (name, type, over TCP)."""
        text = self.log_text()[self._log_offset :]
        return [(m["name"].lower(), m["type"], "T" in m["flags"]) for m in _QUERY_LINE.finditer(text)]


def fqdn_or_root(target: str) -> str:
    """An SRV target: ``.`` stays the root (RFC 2782 "not available"), other names as ``fqdn``."""
    return "." if target == "." else fqdn(target)
