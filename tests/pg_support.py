"""A throw-away PostgreSQL cluster for the state-store tests (issue 18): Debian's `postgresql` binaries, initdb into a
temporary folder, the server on a Unix socket there (no TCP port), stopped and deleted afterwards. As root (CI),
the server runs as the `postgres` user the package creates, since PostgreSQL refuses to run as root."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def cluster(folder: Path, port: int = 5433):
    """Yields a `postgresql://` URL of a fresh server; stops it afterwards (and on failure)."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries: apt-get install postgresql")
    folder.mkdir(parents=True, exist_ok=True)
    data, sock = folder / "data", folder / "sock"
    sock.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sock, "postgres")
        os.chmod(folder, 0o755)
    subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "cockpit", "--auth=trust",
                              "--encoding=UTF8", "--locale=C.UTF-8", "-N"]), check=True, capture_output=True)
    options = f"-k {sock} -c listen_addresses='' -p {port} -c fsync=off -c full_page_writes=off"
    subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                              str(folder / "server.log"), "-w", "-t", "60", "start"]), check=True, capture_output=True)
    url = f"postgresql://cockpit@/postgres?host={sock}&port={port}"
    try:
        yield url
    finally:
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True)
        time.sleep(0.2)


def stop(folder: Path) -> None:
    subprocess.run(_as_owner([str(binaries() / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "-w", "stop"]),
                   check=True, capture_output=True)


def start(folder: Path, port: int = 5433) -> None:
    bin_dir = binaries()
    data = folder / "data"
    options = f"-k {folder / 'sock'} -c listen_addresses='' -p {port} -c fsync=off -c full_page_writes=off"
    subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                              str(folder / "server.log"), "-w", "-t", "60", "start"]), check=True, capture_output=True)
