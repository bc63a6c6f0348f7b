"""The one writer of a served deployment (issue 18): `python -m analytics worker --db PATH`.

It alone opens the database file for writing. It runs the job queue (analytics/jobs.py) one job at a time: a
commit of an upload the app validated, a restore of an earlier version, a retraining. After every new version it
publishes a snapshot the app processes switch to (analytics/db/snapshots.py), retrains the slip-risk model in a
background thread (COCKPIT_RETRAIN_AFTER_COMMIT) and judges the notification rules; once its queue is empty it
computes what readers asked for most (analytics/warming.py) and the national quality marts beside the snapshot; every
COCKPIT_WORKER_NOTIFY_SECONDS it also queues and sends the notification digests that are due (analytics/notify).

Killed in the middle of a commit, DuckDB rolls the unfinished transaction back when the file is next opened: the
published version stays the previous one. The next worker to start marks the job it found running as failed (or as
done, when its version did land before the kill), so a steward sees what happened and can retry.
"""
from __future__ import annotations

import threading
import time
import traceback
from datetime import date, datetime
from pathlib import Path

from analytics import jobs, ops, settings, warming
from analytics.db import snapshots, store, versions


class WorkerError(RuntimeError):
    pass


def _message(e: Exception) -> tuple[str, dict | None]:
    """(the reason in English for the job's row, both languages for the page when the reason is a known one)."""
    from analytics.ingest.problems import UploadError

    if isinstance(e, UploadError):
        return e.message("en"), {"zh": e.message("zh"), "en": e.message("en")}
    return f"{type(e).__name__}: {e}", None


class Worker:
    def __init__(self, db_path: str | Path, log=print):
        self.db_path = str(db_path)
        self.log = log
        self.id = jobs.worker_id()
        self.started_at = time.time()
        import duckdb

        try:
            self.db = store.Database(self.db_path, read_only=False)
        except (duckdb.IOException, duckdb.ConnectionException) as e:
            raise WorkerError(f"cannot open {self.db_path} for writing: another process holds it (another worker, or "
                              f"an app without snapshots): {str(e).splitlines()[0][:300]}") from None
        if not self.db.writable:
            self.db.close()
            raise WorkerError(f"cannot open {self.db_path} for writing: {self.db.read_only_reason} (is another worker "
                              "or an app without snapshots holding it?)")
        self._last_notify = time.time()
        self._stop = threading.Event()
        self._started = False
        self._marts_due: int | None = None
        self._marts: threading.Thread | None = None
        self._job: int | None = None  # the job being run, whose progress the publishing steps report
        versions.ON_NEW_VERSION.append(self._on_new_version)

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        if self._marts is not None:
            self._marts.join()
        if self._on_new_version in versions.ON_NEW_VERSION:
            versions.ON_NEW_VERSION.remove(self._on_new_version)
        jobs.stop_worker(self.db_path, self.id)
        self.db.close()

    def stop(self) -> None:
        self._stop.set()

    def version(self) -> int | None:
        newest = store.current_version(self.db.cursor()) if store.has_table(self.db.cursor(), "data_versions") else None
        return newest[0] if newest else None

    def start(self) -> None:
        """Recover what a killed worker left, and make sure readers have the newest version (once per worker)."""
        if self._started:
            return
        self._started = True
        jobs.heartbeat(self.db_path, self.id, started_at=self.started_at)
        threading.Thread(target=self._beating, name="worker-heartbeat", daemon=True).start()
        from analytics.db import mappings

        mappings.migrate(self.db_path, self.db.cursor())  # mappings an earlier version kept in the file
        alive = {w["id"] for w in jobs.alive_workers(self.db_path)} - {self.id}
        for job in jobs.running_orphans(self.db_path, alive):
            self._recover(job)
        newest = self.version()
        snap = snapshots.current(self.db_path)
        if newest is not None and (snap is None or snap.version != newest):
            self.publish(newest)
        elif snap is not None:
            jobs.heartbeat(self.db_path, self.id, version=snap.version)
        if newest is not None:
            self._marts_due = newest

    def _recover(self, job: jobs.Job) -> None:
        landed = None
        if job.kind == "commit":
            import duckdb

            try:
                rows = self.db.cursor().execute(  # data_versions.created_at is local time, as datetime.now() gives it
                    "SELECT version FROM data_versions WHERE sha256 = ? AND created_at >= ? ORDER BY version DESC "
                    "LIMIT 1", [job.payload.get("sha256", ""), datetime.fromtimestamp(job.started_at or 0)]).fetchall()
            except duckdb.BinderException:  # a database no upload ever reached has no sha256 column yet
                rows = []
            landed = rows[0][0] if rows else None
        if landed is not None:
            jobs.finish(self.db_path, job.id, result={"status": "committed", "version": landed, "recovered": True})
            self.log(f"job {job.id}: its version v{landed} had landed before its worker stopped; marked done")
        else:
            jobs.finish(self.db_path, job.id, error="the worker stopped during this job; nothing of it was committed. "
                                                    "Retry it.")
            self.log(f"job {job.id}: its worker stopped mid-job; nothing committed; marked failed (retry it)")

    def after_publish(self, version: int) -> None:
        """What readers of a new version should find ready (in a thread once the queue is empty): the results they
        asked for most (analytics/warming.py), then the national quality marts, then the quality pages' results.
        At a lower priority (COCKPIT_BACKGROUND_NICE): the app processes' first runs on the new version come first
        (at 3 processes × 90 sessions on 2 cores, the last process showed it 10.6 s after publishing with this work
        at the same priority)."""
        ops.lower_this_thread()
        self.warm(version, skip=warming.QUALITY)
        self.build_marts(version)
        self.warm(version, only=warming.QUALITY)

    def warm(self, version: int, only=None, skip=()) -> None:
        snap = snapshots.current(self.db_path)
        if snap is None or snap.version != version:
            return  # a newer version was published meanwhile: its own warming comes
        try:
            as_of = store.current_version(self.db.cursor())[1]
            out = warming.warm_snapshot(snap.path, self.db_path, as_of, only=only, skip=skip, log=self.log,
                                        still_current=lambda: not self._stop.is_set() and
                                        (s := snapshots.current(self.db_path)) is not None and s.path == snap.path)
        except Exception as e:  # readers compute what is not warm: never a reason to stop
            self.log(f"warming v{version} failed: {type(e).__name__}: {e}")
            return
        if out["warmed"] or out["failed"]:
            self.log(f"warmed {out['warmed']} results of v{version} in {out['seconds']:.1f} s"
                     + (f" ({out['failed']} failed)" if out["failed"] else ""))

    def build_marts(self, version: int) -> None:
        """The national duplicate and authenticity analyses of the published version, so no reader computes them
        at its first view (analytics/quality.py)."""
        from analytics import quality

        t0 = time.perf_counter()
        try:
            as_of = store.current_version(self.db.cursor())[1]
            built = quality.build_marts(self.db.cursor(), self.db_path, version, as_of)
        except Exception as e:  # the readers compute them themselves: never a reason to stop
            self.log(f"marts of v{version} failed: {type(e).__name__}: {e}")
            return
        if built:
            self.log(f"built the {' and '.join(built)} marts of v{version} in {time.perf_counter() - t0:.1f} s")

    def publish(self, version: int) -> snapshots.Snapshot:
        t0 = time.perf_counter()
        cur = self.db.writer()
        try:
            snap = snapshots.publish(cur, self.db_path, version,
                                     before_pointing=lambda snapshot: self.before_pointing(snapshot, version))
        finally:
            cur.close()
        jobs.heartbeat(self.db_path, self.id, version=version)
        self.log(f"published v{version} as {snap.path.name} in {time.perf_counter() - t0:.1f} s")
        return snap

    def before_pointing(self, snapshot: Path, version: int) -> None:
        """A new snapshot, before readers are pointed at it: its risk scores and, meanwhile, its most asked-for
        results. The warming goes on while the scoring is waited for (at least COCKPIT_WARM_BEFORE_PUBLISH_SECONDS
        in all): at 3 app processes on 2 cores, warmed after the scoring within its own 20 s, it computed 16 of 48
        results, the national cockpit's not among them, and a process's first cockpit on the new version then
        computed it itself (14 s); the scoring's wait, 120 s there, is time enough for all of them."""
        if self._job is not None:
            jobs.progress(self.db_path, self._job, "scoring")
        t0 = time.perf_counter()
        stop, warmed = threading.Event(), threading.Event()

        def warm() -> None:
            try:
                self.warm_first(snapshot, still=lambda: not stop.is_set())
            finally:
                warmed.set()

        threading.Thread(target=warm, name="worker-warm-first", daemon=True).start()
        self.score_first(version)
        if self._job is not None:
            jobs.progress(self.db_path, self._job, "publishing")
        warmed.wait(max(settings.get("COCKPIT_WARM_BEFORE_PUBLISH_SECONDS") - (time.perf_counter() - t0), 0))
        stop.set()  # it ends after the result it is computing; saved beside the snapshot, readers find it then

    def score_first(self, version: int) -> None:
        """The version's slip-risk scores with the newest earlier model (`risk.jobs.score_with_latest`: seconds on a
        province's data, about a minute on 200,000 items), so readers do not see a published version without them;
        the retraining the commit started replaces them when it is done. A retraining thread already scoring it is
        waited for, not repeated. At most COCKPIT_SCORE_BEFORE_PUBLISH_SECONDS: on a saturated machine (3 app
        processes on 2 cores, 60 sessions) scoring took over 3 minutes and the steward's commit over 5, so past the
        budget the version is published and its scores follow when done, at the background priority."""
        from analytics.risk import jobs as risk_jobs

        budget = settings.get("COCKPIT_SCORE_BEFORE_PUBLISH_SECONDS")
        t0 = time.perf_counter()
        done = threading.Event()

        def score() -> None:
            try:  # at the commit's priority: the steward waits for it (the retraining thread's scoring, likewise)
                risk_jobs.score_with_latest(self.db.cursor(), self.db_path)
            except Exception as e:  # the risk page says no model scored this version: never a reason not to publish
                self.log(f"scoring v{version} failed: {type(e).__name__}: {e}")
            finally:
                done.set()

        threading.Thread(target=score, name="worker-score", daemon=True).start()
        if not done.wait(max(budget, 0)):
            risk_jobs.lower_scoring()  # from now on background work: the readers' first runs on the version come first
            self.log(f"publishing v{version} before its risk scores, after {time.perf_counter() - t0:.1f} s; they "
                     "follow when done")
            return
        from analytics.risk import scores

        meta = scores.load_meta(self.db_path, version)
        if meta is not None and meta.get("scored_version", meta.get("data_version")) == version:
            self.log(f"scored v{version} with the model of v{meta['data_version']} before publishing it, in "
                     f"{time.perf_counter() - t0:.1f} s")

    def warm_first(self, snapshot: Path, still=lambda: True) -> None:
        """Before readers are pointed at a new snapshot: its most asked-for results, while `still()` (see
        `before_pointing`), so the first runs on the new version find them (a cold national cockpit is 7.7 s of a
        process's time, and under load every process's first runs after a commit were slow together: the new
        version reached the last of 3 processes at 90 sessions 15 s after it was published). The rest is warmed
        after publishing, as before. COCKPIT_WARM_BEFORE_PUBLISH_SECONDS 0: none."""
        if settings.get("COCKPIT_WARM_BEFORE_PUBLISH_SECONDS") <= 0:
            return
        try:
            as_of = store.current_version(self.db.cursor())[1]
            out = warming.warm_snapshot(snapshot, self.db_path, as_of, skip=warming.QUALITY, log=self.log,
                                        still_current=lambda: not self._stop.is_set() and still())
        except Exception as e:  # readers compute what is not warm: never a reason not to publish
            self.log(f"warming {snapshot.name} before publishing failed: {type(e).__name__}: {e}")
            return
        if out["warmed"] or out["failed"]:
            self.log(f"warmed {out['warmed']} results of {snapshot.name} before publishing it, in "
                     f"{out['seconds']:.1f} s" + (f" ({out['failed']} failed)" if out["failed"] else "")
                     + ("" if still() else "; the publishing stopped it (the last result may have come just after)"))

    def _on_new_version(self, db_path: str, version: int) -> None:
        if db_path != self.db_path:
            return
        self.publish(version)
        self._marts_due = version  # built once the queue is empty: the job is done, and readers have it, before
        from analytics.auth import accounts
        from analytics.auth import store as auth_store
        from analytics.notify import scheduler

        if accounts.count(auth_store.path_for(self.db_path)):
            scheduler.evaluate_in_background(self.db_path, self.db.writer)

    # ---- the loop --------------------------------------------------------------------------------------------
    def _beating(self) -> None:
        """The heartbeat, in a thread of its own: a long commit or analysis is not a dead worker."""
        while not self._stop.wait(jobs.HEARTBEAT_SECONDS):
            try:
                jobs.heartbeat(self.db_path, self.id)
            except Exception as e:  # a state store hiccup: the next beat tries again
                self.log(f"heartbeat failed: {type(e).__name__}: {e}")

    def run(self, poll: float = 0.5, once: bool = False) -> int:
        """Run jobs until stopped (or, with `once`, until the queue is empty); returns how many ran."""
        self.start()
        n = 0
        while not self._stop.is_set():
            job = jobs.claim(self.db_path, self.id)
            if job is not None:
                self.run_job(job)
                n += 1
                continue
            if self._marts_due is not None and not (self._marts and self._marts.is_alive()):
                # the queue is empty: the analyses of the newest version, in a thread, so a job coming meanwhile
                # is not kept waiting (a commit's publish reads beside it)
                version, self._marts_due = self._marts_due, None
                self._marts = threading.Thread(target=self.after_publish, args=(version,), name="worker-marts",
                                               daemon=True)
                self._marts.start()
            if once:
                if self._marts is not None:
                    self._marts.join()
                break
            self._notify_pass()
            self._stop.wait(poll)
        return n

    def _notify_pass(self) -> None:
        every = settings.get("COCKPIT_WORKER_NOTIFY_SECONDS")
        if every <= 0 or time.time() - self._last_notify < every:
            return
        self._last_notify = time.time()
        from analytics.auth import accounts
        from analytics.auth import store as auth_store
        from analytics.notify import scheduler

        if accounts.count(auth_store.path_for(self.db_path)):
            try:
                self.log("notifications: " + scheduler.summary(scheduler.run_once(self.db_path)))
            except Exception as e:  # a notification problem never stops the commits
                self.log(f"notifications failed: {type(e).__name__}: {e}")

    def run_job(self, job: jobs.Job) -> None:
        self.log(f"job {job.id} ({job.kind}, {job.title}) by {job.submitted_by}: started")
        t0 = time.perf_counter()
        self._job = job.id  # its page follows the publishing steps too
        try:
            result = getattr(self, f"_{job.kind}")(job)
        except Exception as e:  # the job fails with its reason; the worker goes on
            error, both = _message(e)
            jobs.finish(self.db_path, job.id, error=error, result={"error": both} if both else None)
            where = traceback.extract_tb(e.__traceback__)[-1]  # the log says where, for whoever reads it afterwards
            self.log(f"job {job.id}: failed: {error} (at {Path(where.filename).name}:{where.lineno} in {where.name})")
            return
        finally:
            self._job = None
        result["seconds"] = round(time.perf_counter() - t0, 2)
        jobs.finish(self.db_path, job.id, result=result)
        self.log(f"job {job.id}: {result.get('status')} v{result.get('version')} in {result['seconds']} s")

    def _audit(self, job: jobs.Job, action: str, target: str, **detail) -> None:
        from analytics.auth import audit
        from analytics.auth import store as auth_store

        audit.append(auth_store.path_for(self.db_path), actor=job.submitted_by, role=job.role, action=action,
                     target=target, detail=detail | {"job": job.id}, source=job.source)

    def _commit(self, job: jobs.Job) -> dict:
        p = job.payload
        jobs.progress(self.db_path, job.id, "committing")
        changes = [versions.Change(c["table"], c["mode"], frame, tuple(c["supplied"]), c["rejected"])
                   for c, frame in zip(p["changes"], jobs.frames(self.db_path, job))]
        cur = self.db.writer()
        try:
            out = versions.commit(cur, changes, who=job.submitted_by, file_name=p["file_name"], sha256=p["sha256"],
                                  as_of=date.fromisoformat(p["as_of"]) if p.get("as_of") else None,
                                  based_on=p["based_on"], db_path=self.db_path, keep=p.get("keep"),
                                  retrain=p.get("retrain"))
        finally:
            cur.close()
        self._audit(job, "commit", p["file_name"], status=out.status, version=out.version, based_on=out.based_on,
                    **p.get("audit", {}))
        return {"status": out.status, "version": out.version, "based_on": out.based_on}

    def _restore(self, job: jobs.Job) -> dict:
        target = int(job.payload["target"])
        jobs.progress(self.db_path, job.id, f"restoring v{target}")
        cur = self.db.writer()
        try:
            out = versions.restore(cur, target, who=job.submitted_by, db_path=self.db_path)
        finally:
            cur.close()
        self._audit(job, "rollback", f"v{target}", status=out.status, version=out.version, based_on=out.based_on)
        return {"status": out.status, "version": out.version, "based_on": out.based_on}

    def _retrain(self, job: jobs.Job) -> dict:
        from analytics.risk import jobs as risk_jobs

        training, _ = risk_jobs.start(self.db_path, lambda: store.connect(self.db_path))
        while not training.done:
            jobs.progress(self.db_path, job.id, f"{training.stage} {training.share:.0%}")
            time.sleep(1)
        if training.error:
            raise WorkerError(f"training failed: {training.error}")
        return {"status": "trained", "version": self.version()}


def alive(db_path: str | Path) -> bool:
    """Whether a worker for this database sent a heartbeat lately (the app hands it commits only then)."""
    return bool(jobs.alive_workers(db_path))
