"""A private CUPS for tests and the demo: its own cupsd, a cups-pdf queue and IPP test printers.

:class:`CupsServer` runs ``cupsd`` in the foreground with every directory (ServerRoot, spool,
cache, state, logs) in a temporary directory, listening on a free loopback port, so the real
:mod:`drivers.cups_printer` driver talks IPP to a real scheduler without touching the system's
cupsd or its queues (reference §4.4).

The ``cups-pdf`` backend reads its configuration from the fixed directory ``/etc/cups``; it picks
``/etc/cups/cups-pdf-<NAME>.conf`` for the device URI ``cups-pdf:/<NAME>``. The server therefore
writes one such file with a unique name (output into its own temp dir) and removes it on stop;
the shared ``/etc/cups/cups-pdf.conf`` is never read for our queue. cupsd and cups-pdf need root.

Printer states a PDF queue cannot have (paper out, offline, toner, cover) come from a second
queue whose device is the *state printer*: a CUPS backend (``hall-a4:``, this module run as a
program) that speaks the backend protocol of backend(7) to the real scheduler. It reads the
printer's condition from a JSON file the test writes (:meth:`StatePrinter.set`) and reports it
with ``STATE:`` lines on stderr, as a USB or IPP backend relays a real printer's reasons. While
an ``-error`` reason or ``offline-report`` stands it holds the job, as a printer without paper
does; when the condition clears it "prints" (copies the document into ``out_dir``). It can also
fail the job (exit status 1, the job is aborted) or stop the queue (status 4).

``ippeveprinter`` (reference §4.4) was the first choice for these states, but the Debian 2.4.2
build exits on a host without IPv6 ("Unable to create IPv6 listener") and needs a DNS-SD
daemon even with ``-r off``, so it cannot run in our CI containers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

_CUPSD = "/usr/sbin/cupsd"
_SYSTEM_SERVER_BIN = "/usr/lib/cups"
#: device URI scheme of the state printer backend.
_BACKEND = "hall-a4"
_CUPS_PDF_PPD = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd"
_CUPS_PDF_CONF_DIR = Path("/etc/cups")

_CUPSD_CONF = """\
LogLevel debug
Listen 127.0.0.1:{port}
Listen {root}/run/cups.sock
Browsing No
BrowseLocalProtocols none
WebInterface No
DefaultAuthType None
MaxJobs 200
PreserveJobHistory Yes
JobRetryLimit 0
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  <Limit All>
    Order allow,deny
    Allow all
  </Limit>
</Policy>
"""

_CUPS_FILES_CONF = """\
ServerRoot {root}/etc
RequestRoot {root}/spool
TempDir {root}/spool/tmp
CacheDir {root}/cache
StateDir {root}/run
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
ServerBin {root}/lib
FileDevice Yes
Sandboxing Relaxed
"""

_CUPS_PDF_CONF = """\
Out {out}
AnonDirName {out}
Spool {root}/cups-pdf-spool
Label 0
TitlePref 0
UserUMask 0022
AnonUMask 0022
Log {root}/log
"""


@dataclass(frozen=True)
class StatePrinter:
    """The A4 state printer behind one queue; change its condition with :meth:`set`.

    Attributes:
        queue: the CUPS queue name.
        state_file: the JSON file the backend reads.
        out_dir: where "printed" documents land, one file per job.
    """

    queue: str
    state_file: Path
    out_dir: Path

    def set(self, *reasons: str, fail: str = "", delay_s: float = 0.0) -> None:
        """Set the printer's condition.

        Args:
            reasons: IPP printer-state-reasons with severity (``media-empty-error``,
                ``toner-low-report``, ``offline-report``); none means ready.
            fail: ``abort`` to fail the next job, ``stop`` to stop the queue with it.
            delay_s: how long printing a job takes once the printer is ready.
        """
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "reasons": list(reasons),
                    "fail": fail,
                    "delay_s": delay_s,
                    "out": str(self.out_dir),
                }
            )
        )
        tmp.chmod(0o644)
        tmp.replace(self.state_file)

    def printed(self) -> list[Path]:
        """The documents printed so far, oldest first."""
        return sorted(self.out_dir.iterdir(), key=lambda p: p.stat().st_mtime)


class CupsServer:
    """A private cupsd with a cups-pdf queue; more IPP test printers on request.

    Args:
        pdf_queue: name of the cups-pdf queue.

    Attributes:
        root: the temp dir holding every file of this instance.
        out_dir: where the cups-pdf queue writes its PDFs.
        port: the scheduler's loopback port (``cups://<queue>?server=127.0.0.1:<port>``).
    """

    def __init__(self, pdf_queue: str = "cups-pdf") -> None:
        self.pdf_queue = pdf_queue
        self.root = Path(tempfile.mkdtemp(prefix="hall-cups-"))
        self.out_dir = self.root / "pdf-out"
        self.port = 0
        self._token = f"hall-{uuid.uuid4().hex[:12]}"
        self._pdf_conf = _CUPS_PDF_CONF_DIR / f"cups-pdf-{self._token}.conf"
        self._cupsd: subprocess.Popen[bytes] | None = None
        #: state printers by queue name (:meth:`add_state_printer`).
        self.state_printers: dict[str, StatePrinter] = {}

    @property
    def server(self) -> str:
        """``host:port`` of the scheduler, the ``server`` option of a ``cups://`` URL."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20.0) -> None:
        """Start cupsd and add the cups-pdf queue.

        Raises:
            ConfigError (100): not root, CUPS or cups-pdf not installed, or cupsd did not start.
        """
        if os.geteuid() != 0:
            raise ConfigError("the private cupsd and cups-pdf need root")
        for needed in (_CUPSD, _CUPS_PDF_PPD):
            if not Path(needed).exists():
                raise ConfigError(f"{needed} missing: install cups and printer-driver-cups-pdf")
        self.port = _free_port()
        self._write_config()
        self._cupsd = subprocess.Popen(
            [_CUPSD, "-f", "-c", str(self.root / "etc/cupsd.conf"),
             "-s", str(self.root / "etc/cups-files.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_port(self.port, timeout_s, self._cupsd, "cupsd")
        self._lpadmin("-p", self.pdf_queue, "-E", "-v", f"cups-pdf:/{self._token}",
                      "-P", _CUPS_PDF_PPD)  # fmt: skip

    def add_state_printer(self, queue: str = "a4") -> StatePrinter:
        """Add a raw queue whose device is the A4 state printer backend (module docstring).

        Its job error policy is ``abort-job``, so a backend failure aborts the job rather than
        stopping the queue, as a hall's A4 queue is configured.
        """
        printer = StatePrinter(queue, self.root / f"{queue}-state.json", self.root / f"{queue}-out")
        printer.out_dir.mkdir(mode=0o777)
        printer.out_dir.chmod(0o777)
        printer.set()
        self.state_printers[queue] = printer
        self._lpadmin("-p", queue, "-E", "-v", f"{_BACKEND}:{printer.state_file}", "-m", "raw",
                      "-o", "printer-error-policy=abort-job")  # fmt: skip
        return printer

    def pdfs(self) -> list[Path]:
        """The PDFs the cups-pdf queue has written so far, oldest first."""
        return sorted(self.out_dir.rglob("*.pdf"), key=lambda p: p.stat().st_mtime)

    def error_log(self) -> str:
        """cupsd's error log, for a failing test's report."""
        log = self.root / "log/error_log"
        return log.read_text(errors="replace") if log.exists() else ""

    def close(self) -> None:
        """Stop every process, remove the cups-pdf config file and the temp dir."""
        if self._cupsd is not None:
            self._cupsd.terminate()
            try:
                self._cupsd.wait(10)
            except subprocess.TimeoutExpired:
                self._cupsd.kill()
                self._cupsd.wait(10)
            self._cupsd = None
        self._pdf_conf.unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _write_config(self) -> None:
        for sub in ("etc/ppd", "spool/tmp", "cache", "run/certs", "log", "cups-pdf-spool"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._write_server_bin()
        self.out_dir.mkdir()
        root = str(self.root)
        (self.root / "etc/cupsd.conf").write_text(_CUPSD_CONF.format(port=self.port, root=root))
        (self.root / "etc/cups-files.conf").write_text(_CUPS_FILES_CONF.format(root=root))
        self._pdf_conf.write_text(_CUPS_PDF_CONF.format(out=self.out_dir, root=root))
        # Filters run as the unprivileged cups user and must reach the spool.
        for path in [self.root, *self.root.rglob("*")]:
            if path.is_dir():
                path.chmod(0o1777 if path.name in ("tmp", "pdf-out") else 0o755)

    def _write_server_bin(self) -> None:
        # The system's filters and backends plus ours: cupsd runs backends from ServerBin only.
        server_bin = self.root / "lib"
        (server_bin / "backend").mkdir(parents=True)
        for entry in Path(_SYSTEM_SERVER_BIN).iterdir():
            if entry.name != "backend":
                (server_bin / entry.name).symlink_to(entry)
        for backend in (Path(_SYSTEM_SERVER_BIN) / "backend").iterdir():
            (server_bin / "backend" / backend.name).symlink_to(backend)
        ours = server_bin / "backend" / _BACKEND
        project = Path(__file__).resolve().parent.parent
        ours.write_text(
            f'#!/bin/sh\nPYTHONPATH={project} exec {sys.executable} -m hardware_sim.cups_server "$@"\n'
        )
        # Mode 0700: cupsd runs it as root, as it runs the usb backend.
        ours.chmod(0o700)

    def _lpadmin(self, *args: str) -> None:
        result = subprocess.run(
            ["lpadmin", "-h", self.server, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise ConfigError(f"lpadmin {' '.join(args)} failed: {result.stderr.strip()}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout_s: float, proc: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"{name} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise ConfigError(f"{name} did not listen on port {port} within {timeout_s} s")


# --- the state printer backend (runs in cupsd's backend process) ------------------------------

#: Exit statuses of backend(7).
_BACKEND_OK, _BACKEND_FAILED, _BACKEND_STOP = 0, 1, 4


def _backend(argv: list[str]) -> int:
    """Print one job like a printer whose condition is in the state file (module docstring)."""
    if not argv:
        # Device discovery (lpinfo -v): this backend finds no devices by itself.
        return _BACKEND_OK
    job_id = argv[0]
    state_file = Path(os.environ["DEVICE_URI"].split(":", 1)[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(_BACKEND_FAILED))
    while True:
        state = json.loads(state_file.read_text())
        reasons = list(state["reasons"])
        _report(reasons)
        if state["fail"] == "abort":
            return _BACKEND_FAILED
        if state["fail"] == "stop":
            return _BACKEND_STOP
        if not any(r.endswith("-error") or r == "offline-report" for r in reasons):
            break
        time.sleep(0.2)
    time.sleep(state["delay_s"])
    data = Path(argv[5]).read_bytes() if len(argv) > 5 else sys.stdin.buffer.read()
    (Path(state["out"]) / f"job-{job_id}.bin").write_bytes(data)
    return _BACKEND_OK


def _report(reasons: list[str]) -> None:
    # "STATE: a,b" replaces the reasons the backend set before; "none" clears them.
    print(f"STATE: {','.join(reasons) or 'none'}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(_backend(sys.argv[1:]))
