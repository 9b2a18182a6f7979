"""Spark: DataFrames for every workload (word count too), a cached RDD of numpy arrays for the
rating passes.

The session runs on `local[workers]`, or on the master URL of the `spark_master` setting with
`spark.cores.max=workers`. The JVM is launched by this engine (not by the session builder) so that
its stdout and stderr, which print before log4j loads, go to a log file instead of the terminal;
`stop` ends the session, the Py4J gateway and the JVM, so a later `start` gets a fresh JVM.
Choices below are measured: see docs/engines.md.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import operator
import os
import pickle
import re
import signal
import subprocess
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyspark
from py4j.protocol import Py4JError, Py4JJavaError, Py4JNetworkError
from pyspark import RDD, Broadcast, SparkConf, SparkContext, StorageLevel
from pyspark.errors import PySparkException
from pyspark.java_gateway import launch_gateway
from pyspark.sql import Column, DataFrame, Row, SparkSession, SQLContext, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from workloads import probes, spec
from workloads.data import frames
from workloads.data.dataset import Input, Inputs
from workloads.data.readers import missing_file, unreadable
from workloads.data.validate import find_malformed
from workloads.engines.base import Availability, Engine
from workloads.engines.spark import jvm
from workloads.layout import (
    BOOL,
    DATE,
    GOALS,
    INT64,
    MATCHES,
    STRING,
    TABLE_COLUMNS,
    csv_types,
)
from workloads.runtime import memory, net, processes, scratch, signals
from workloads.runtime.errors import EngineUnavailable, JobFailed, ParbenchError, first_line
from workloads.runtime.net import LOOPBACK
from workloads.runtime.project import CODE_ROOT
from workloads.runtime.settings import Settings
from workloads.spec import JOIN_KEY, MATCH_COLUMNS, STREAK_ORDER, UNKNOWN_SCORER

MASTER_SETTING = "spark_master"
#: Seconds a session on a cluster waits for the executors to hold every core asked for:
#: Spark's own default for a standalone cluster, time for an executor's JVM to start on a busy
#: host (10 s was not always enough on one of two loaded cores).
CORES_WAIT_SECONDS = 30
#: What Py4J logs, with its traceback, on the root logger (so on stderr, through
#: `logging.basicConfig`) when a call to the JVM fails on the network, besides raising the error.
PY4J_SEND_ERROR = "Exception while sending command."
#: Seconds to wait for the JVM to be reaped once Py4J lost its connection: the socket closes
#: as the JVM exits, a moment before the kernel reports its end.
JVM_EXIT_WAIT = 2.0

#: A Java regex for runs of what str.split() splits on (str.isspace): Unicode's White_Space plus
#: the separators U+001C..U+001F. A property test, not a list of 29 characters: one lookup per
#: character, where a listed class is tested member by member.
WORD_SEPARATOR = r"[\p{IsWhite_Space}\x{1c}-\x{1f}]+"

#: Spark's type of each type name of `layout.COLUMN_TYPES`.
SPARK_TYPES = {INT64: T.LongType(), DATE: T.DateType(), STRING: T.StringType(),
               BOOL: T.BooleanType()}
#: The CSV columns of each kind of table, typed, by header name: no schema inference (a full
#: extra pass over the data). Spark reads the booleans True/False and TRUE/FALSE alike. A goal's
#: `minute` stays a string: its `NA` would need nullValue="NA", which applies to every column and
#: would make the scorer `NA` (a name) a null; the default nullValue, "", keeps it the string.
CSV_SCHEMAS = {kind: T.StructType([
    T.StructField(name, T.StringType() if (kind, name) == (GOALS, "minute") else SPARK_TYPES[t])
    for name, t in csv_types(kind).items()]) for kind in (MATCHES, GOALS)}

# --------------------------------------------------------------------------- a memory budget

MiB = 2**20
#: Heap that Spark keeps for itself (`UnifiedMemoryManager`'s reserved system memory); it
#: refuses to start on a heap under 1.5 times that.
SPARK_RESERVED = 300 * MiB
SPARK_MIN_HEAP = SPARK_RESERVED * 3 // 2 + 16 * MiB  # and the heap Java reports is a little less
#: The driver JVM's memory besides its heap, as measured (Native Memory Tracking, local[2], the
#: workloads' plans): metaspace and class space ~140 MiB, symbols ~35, code (capped below),
#: arenas, threads and the serial collector's card table; direct buffers (capped below) on top.
JVM_NATIVE = 200 * MiB
CODE_CACHE = 48 * MiB
DIRECT_MEMORY = 64 * MiB
#: Left to the Python side: the driver's results, and room for the Python workers that
#: `team_ratings` starts (two daemons and a worker per core per stage, ~115 MiB each as
#: measured: they do not fit beside the smallest heap in a budget of 1 GiB).
PYTHON_SIDE = 96 * MiB
#: Below this much memory a machine is not "server class" to the JVM, which then picks the
#: serial collector itself; a budget this small gets it explicitly (under the watchdog the JVM
#: would otherwise size itself from the host): its bookkeeping is a card table, where G1's
#: remembered sets and bitmaps cost about a tenth of the heap.
SERIAL_GC_BELOW = 1792 * MiB


def budget_conf(budget: int, room: int) -> tuple[dict[str, str], list[str]]:
    """The settings and JVM options that keep a local Spark (its executors inside the driver JVM)
    within `budget`, of which `room` bytes are still free (the Python driver holds the rest):
    the heap is what is left once the JVM's own memory and some for the Python side are set
    aside, and Spark spills its execution and storage memory to `spark.local.dir` when the heap
    is short. One line if the budget cannot hold the smallest heap Spark starts with."""
    heap = room - JVM_NATIVE - CODE_CACHE - DIRECT_MEMORY - PYTHON_SIDE
    if heap < SPARK_MIN_HEAP:
        raise ParbenchError(
            f"a memory budget of {memory.format_size(budget)} leaves the Spark driver a heap of "
            f"{memory.format_size(max(heap, 0))}, below the {memory.format_size(SPARK_MIN_HEAP)} "
            f"Spark starts with (it keeps {memory.format_size(SPARK_RESERVED)} for itself): "
            f"give it more memory")
    java = [f"-XX:ReservedCodeCacheSize={CODE_CACHE // MiB}m",
            f"-XX:MaxDirectMemorySize={DIRECT_MEMORY // MiB}m"]
    if budget < SERIAL_GC_BELOW:
        java.append("-XX:+UseSerialGC")
    conf = {
        "spark.driver.memory": f"{heap // MiB}m",
        # Spark's default share of the heap (less its reserve) for execution and storage, said
        # here: the rest holds what Spark does not count (user objects, aggregation buffers).
        "spark.memory.fraction": "0.6",
        # Netty's buffers on the heap, which Spark counts, rather than in direct memory.
        "spark.shuffle.io.preferDirectBufs": "false",
        "spark.network.io.preferDirectBufs": "false",
    }
    return conf, java


# --------------------------------------------------------------------------- availability


@functools.lru_cache(maxsize=8)
def _availability(java_home: str | None, path: str | None) -> Availability:
    """Cached per ($JAVA_HOME, $PATH), where the Java lookup looks."""
    version, problem = jvm.check_java(pyspark.__version__)
    if problem:
        return Availability(False, problem, {"pyspark": pyspark.__version__})
    return Availability(True, versions={"pyspark": pyspark.__version__, "java": str(version)})


@contextlib.contextmanager
def _no_pandas_warning() -> Iterator[None]:
    """Silence PySpark 4's warning that pandas 3 is not fully supported.

    It comes from pyspark.testing.utils (imported by py4j's converters on first call) and from
    mapInArrow; this engine hands no pandas object to PySpark (pandas runs inside its tasks).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas",
                                FutureWarning)
        yield


# --------------------------------------------------------------------------- errors


def _spark_message(exc: BaseException) -> str:
    """One line from a Spark error: the messages of its Java cause chain that say most."""
    java = getattr(exc, "java_exception", None)
    if java is None:
        return first_line(exc)
    messages = []
    try:
        while java is not None and len(messages) < 20:
            messages.append(first_line(str(java.getMessage() or java.toString())))
            java = java.getCause()
    except Py4JError:  # the gateway is gone: keep what was read
        pass
    named = [m for m in messages if "file:" in m]
    return "; ".join(dict.fromkeys(named[:1] + messages[-1:]))


def _without_py4j_send_errors(record: logging.LogRecord) -> bool:
    """A filter of the root logger while a session runs: Py4J's record of a call that failed
    on the network goes, since the error raised says it too, and the engine reports that in one
    line (a JVM that has ended, say)."""
    return not (record.name == "root" and record.msg == PY4J_SEND_ERROR)


def _check_exists(paths: Iterable[str]) -> None:
    """Name the first missing local file before Spark fails with a long stack trace."""
    for path in paths:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", path) and not path.startswith("file:"):
            continue  # hdfs://, s3a://: Spark checks these itself
        local = path.removeprefix("file://").removeprefix("file:")
        if not os.path.exists(local):
            raise missing_file(path)


def literal(paths: Iterable[str]) -> list[str]:
    """The paths as Spark's readers take them literally: they expand Hadoop globs, so a folder
    named `ds[1]` would read `ds1`; each glob character is escaped with a backslash."""
    return [re.sub(r"([\\\[\]{}*?])", r"\\\1", path) for path in paths]


# --------------------------------------------------------------------------- workers' code


#: Rows per cached RDD element: bounds one pickle's size, keeps numpy's loops long.
CODED_ROWS = 1 << 20
#: Under a memory budget: each element passes through the JVM's direct memory, capped there.
BUDGET_CODED_ROWS = 1 << 18
CODED_COLUMNS = ("home", "away", "y", "bonus")
Coded = tuple[np.ndarray, ...]


def _pack_arrays(batches: Iterable[pa.RecordBatch],
                 most: int = CODED_ROWS) -> Iterator[pa.RecordBatch]:
    """mapInArrow: one partition's coded matches as pickled numpy arrays of `most` rows."""
    chunk: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        chunk.append(batch)
        rows += batch.num_rows
        if rows >= most:
            yield _arrays_pickle(chunk)
            chunk, rows = [], 0
    if chunk:
        yield _arrays_pickle(chunk)


def _arrays_pickle(chunk: list[pa.RecordBatch]) -> pa.RecordBatch:
    table = pa.Table.from_batches(chunk)
    arrays = tuple(table.column(c).to_numpy() for c in CODED_COLUMNS)
    return pa.RecordBatch.from_pydict({"coded": [pickle.dumps(arrays, protocol=5)]})


def _unpickle_first(row: Row) -> Coded:
    return pickle.loads(row[0])


def _partition_gradient(ratings: Broadcast[np.ndarray], coded: Coded) -> np.ndarray:
    return frames.gradient(pd.DataFrame(dict(zip(CODED_COLUMNS, coded, strict=True)),
                                        copy=False), ratings.value)


# --------------------------------------------------------------------------- the engine


class SparkEngine(Engine):
    name = "spark"
    spans_hosts = True
    cluster_kind = "spark"
    #: The engine whose JVM runs now: a process holds one SparkContext, so one SparkEngine.
    _active: ClassVar[SparkEngine | None] = None

    def __init__(self, workers: int = 1, settings: Settings | None = None) -> None:
        super().__init__(workers, settings)
        self.spark: SparkSession | None = None
        #: The JVM's own output (before log4j loads, and its errors): a private temporary file,
        #: removed at stop unless an error message names it.
        self.log_path: Path | None = None
        self._log: IO[str] | None = None
        self._gateway: Any = None
        self._shipped: Path | None = None
        self._local_dir: Path | None = None

    @property
    def on_this_machine(self) -> bool:
        return not self.settings.spark_master

    def cluster_hosts(self) -> list[str]:
        master = self.settings.spark_master
        if not master or probes.is_local_master(master):
            return []
        return [endpoint.host for endpoint in probes.parse_spark_master(master)]

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        return _availability(os.environ.get("JAVA_HOME"), os.environ.get("PATH"))

    # ----------------------------------------------------------------- lifecycle

    def conf(self, local_dir: Path | None = None) -> dict[str, str]:
        """The session's configuration (everything the JVM needs is known before it starts);
        `local_dir`: where Spark writes its shuffle and spill files and the JVM its temporary
        files. Under a memory budget the driver's memory comes from the budget (`budget_conf`),
        else from the spark_driver_memory setting."""
        master = self.settings.spark_master
        host = jvm.jvm_environment(driver_address(master))["SPARK_LOCAL_IP"]
        java = [jvm.log4j_option()]
        conf = {
            "spark.master": master or f"local[{self.workers}]",
            "spark.app.name": "parbench",
            "spark.driver.host": host,
            "spark.driver.bindAddress": host,
            "spark.driver.memory": self.settings.spark_driver_memory,
            "spark.executor.extraJavaOptions": java[0],
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            # A few hundred teams and ~10^4 words: 200 reduce tasks would be all overhead.
            "spark.sql.shuffle.partitions": str(2 * self.workers),
            "spark.default.parallelism": str(2 * self.workers),
        }
        if master:
            conf["spark.cores.max"] = str(self.workers)
            # Start only once the executors hold every core asked for (or after the wait, and
            # then `start` refuses to run on fewer).
            conf["spark.scheduler.minRegisteredResourcesRatio"] = "1.0"
            conf["spark.scheduler.maxRegisteredResourcesWaitingTime"] = f"{CORES_WAIT_SECONDS}s"
        if local_dir is not None:
            # Spark's default, java.io.tmpdir, is /tmp whatever $TMPDIR says: files of a JVM
            # that is killed would stay there.
            conf["spark.local.dir"] = str(local_dir)
            java.append(f"-Djava.io.tmpdir={local_dir}")
        budget = self.settings.memory
        if budget is not None:
            limits, options = budget_conf(budget, memory.available(budget))
            conf.update(limits)
            java.extend(options)
        conf["spark.driver.extraJavaOptions"] = " ".join(java)
        return conf

    def start(self) -> None:
        """Launch the JVM (output to `log_path`) and the session; stops any other SparkEngine."""
        if self.spark is not None:
            return
        if SparkEngine._active is not None:  # one SparkContext per JVM, one JVM per process here
            SparkEngine._active.stop()
        for key, value in jvm.jvm_environment(driver_address(self.settings.spark_master)).items():
            os.environ.setdefault(key, value)
        settings = self.conf()  # without a folder yet: a budget too small ends here, no file made
        probe_master(settings["spark.master"], self.settings.connect_timeout)
        with _no_pandas_warning():
            import pyspark.testing.utils  # noqa: F401 - imported here, warning silenced
        self._local_dir = scratch.folder("spark")
        conf = SparkConf(loadDefaults=False).setAll(list(self.conf(self._local_dir).items()))
        self.log_path, fd = scratch.file("spark", ".log")
        self._log = os.fdopen(fd, "w", encoding="utf-8")
        SparkEngine._active = self
        logging.getLogger().addFilter(_without_py4j_send_errors)
        try:
            # Its own session: a terminal's Ctrl-C or SIGTERM goes to this process, which stops
            # the JVM (and the JVM ends by itself once this process's end closes its stdin).
            self._gateway = launch_gateway(conf, popen_kwargs={
                "stdout": self._log, "stderr": self._log, "start_new_session": True})
            # SparkContext replaces the process's Ctrl-C handler with one that calls into the
            # JVM from inside the interrupted call; the caller's (the CLI's: unwind, stop the
            # JVM) is put back.
            with signals.kept(signals=(signal.SIGINT,)):
                self.spark = SparkSession(SparkContext(conf=conf, gateway=self._gateway))
            if not self.sc.master.startswith("local"):
                self._shipped = _code_zip()
                self.sc.addPyFile(str(self._shipped))
        except Exception as exc:
            log = scratch.keep(self.log_path)
            self.stop()
            raise EngineUnavailable(f"Spark did not start ({_spark_message(exc)}); see "
                                    f"{log}") from exc
        if not self.on_this_machine:
            self._check_cores()
        super().start()

    def _check_cores(self) -> None:
        """On a cluster, run on the `workers` cores asked for or not at all: fewer would be a
        timing labelled with the wrong worker count."""
        granted = self.sc._jsc.sc().schedulerBackend().totalCoreCount()
        if granted < self.workers:
            master = self.sc.master
            self.stop()
            raise EngineUnavailable(
                f"the Spark master at {master} gave {granted} core(s) within "
                f"{CORES_WAIT_SECONDS} s, {self.workers} asked for: ask for at most {granted} "
                f"worker(s), or add cores to the cluster")

    def stop(self) -> None:
        """Stop the session, the Py4J gateway and the JVM (spark.stop() leaves the JVM up)."""
        if self.spark is not None:
            _stop_session(self.spark)
            self.spark = None
        if self._gateway is not None:
            with contextlib.suppress(Py4JError, OSError):
                self._gateway.shutdown()
            _end(getattr(self._gateway, "proc", None))
            if SparkContext._gateway is self._gateway:
                SparkContext._gateway = None
                SparkContext._jvm = None
            self._gateway = None
        if SparkEngine._active is self:
            SparkEngine._active = None
        self._close_log()
        if self._shipped is not None:
            scratch.remove(self._shipped)
            self._shipped = None
        scratch.remove(self._local_dir)
        self._local_dir = None
        logging.getLogger().removeFilter(_without_py4j_send_errors)
        super().stop()

    def run_inputs(self, workload: str, inputs: Inputs) -> Any:
        with self._jvm_watched():
            return super().run_inputs(workload, inputs)

    @contextlib.contextmanager
    def _jvm_watched(self) -> Iterator[None]:
        """A JVM that ends mid-run (the kernel's out-of-memory killer, a crash) as one line
        naming it and how it ended: Py4J's error says only that a connection failed, or that
        an answer was empty, whichever call the JVM was in."""
        try:
            yield
        except Exception as exc:
            # A lost connection is the JVM ending, most likely: wait a moment for it to be
            # reaped. Any other error waits for nothing (a JVM that ran its job fine is up).
            ended = self._jvm_ended(JVM_EXIT_WAIT if isinstance(exc, (Py4JNetworkError, OSError))
                                    else 0.0)
            if ended is None:
                raise
            raise JobFailed(ended) from None

    def _jvm_ended(self, wait: float) -> str | None:
        """If the JVM has ended (within `wait` s), the one line that says so; else None. Its
        log is kept and named when it exited by itself (it writes why there: a fatal error, an
        OutOfMemoryError); killed by a signal, it wrote nothing."""
        proc = getattr(self._gateway, "proc", None)
        if proc is None:
            return None
        try:
            status = proc.wait(timeout=wait) if wait else proc.poll()
        except subprocess.TimeoutExpired:
            return None
        if status is None:
            return None
        log = ""
        if status >= 0 and self.log_path is not None:
            log = f"; see its log: {scratch.keep(self.log_path)}"
        return f"Spark lost the job: its JVM (PID {proc.pid}) {processes.how_ended(status)}{log}"

    def _close_log(self) -> None:
        """Close the JVM's log; remove it unless an error message named it."""
        if self._log is not None:
            self._log.close()
            self._log = None
        scratch.remove(self.log_path)  # not if kept: an error names it
        self.log_path = None

    @contextlib.contextmanager
    def _reading(self, *inputs: Input) -> Iterator[None]:
        """Turn Spark's errors while reading `inputs` into a DataError naming the file (and
        line), or, for an error that no malformed row explains, naming the JVM's log (then
        kept)."""
        paths = [p for inp in inputs for p in inp.paths]
        _check_exists(paths)
        try:
            yield
        except (PySparkException, Py4JJavaError) as exc:
            for inp in inputs:
                found = find_malformed(inp)
                if found is not None:
                    raise found from exc
            log = ""
            if self.log_path is not None:
                log = f"; the JVM's log: {scratch.keep(self.log_path)}"
            raise unreadable(paths, _spark_message(exc) + log) from exc

    @property
    def sc(self) -> SparkContext:
        assert self.spark is not None, "start() the engine first"
        return self.spark.sparkContext

    # ----------------------------------------------------------------- readers

    def _read(self, inp: Input) -> DataFrame:
        """A match (or goal) table from CSV (typed; a field a query reads that does not parse
        fails the job) or Parquet, with the Parquet column names; Spark reads only the columns a
        query uses."""
        assert self.spark is not None, "start() the engine first"
        if inp.fmt == "parquet":
            return self.spark.read.parquet(*literal(inp.paths))
        # escape='"': RFC 4180 doubled quotes, as Python's csv module reads them;
        # enforceSchema=False: the header must name the table's columns.
        df = self.spark.read.csv(literal(inp.paths), schema=CSV_SCHEMAS[inp.kind], header=True,
                                 enforceSchema=False, mode="FAILFAST", escape='"',
                                 encoding="UTF-8")
        return df.toDF(*TABLE_COLUMNS[inp.kind, "parquet"])  # the unnamed match id: match_id

    def _read_matches(self, inp: Input) -> DataFrame:
        """The match columns the first five workloads use."""
        return self._read(inp).select(*MATCH_COLUMNS)

    # ----------------------------------------------------------------- workloads

    def wordcount(self, text: Input) -> spec.WordCounts:
        """split + explode + groupBy().count(), all in the JVM: an RDD (the tutorial's
        flatMap/reduceByKey, or a Counter per partition) serialises every line out of the JVM
        to a Python worker and its pairs or Counters back; this never leaves it
        (docs/engines.md)."""
        assert self.spark is not None, "start() the engine first"
        with self._reading(text):
            words = (self.spark.read.text(literal(text.paths))
                     .select(F.explode(F.split("value", WORD_SEPARATOR)).alias("word"))
                     .where(F.col("word") != ""))  # split gives "" before leading whitespace
            return dict(words.groupBy("word").count().collect())

    def mean_home_score(self, matches: Input) -> float:
        with self._reading(matches):
            df = self._read_matches(matches)
            total, n = df.agg(F.sum("home_score"), F.count("*")).first()
        return total / n  # exact integer sum, then one division (as the serial engine)

    def home_advantage(self, matches: Input) -> int:
        with self._reading(matches):
            df = self._read_matches(matches)
            h, a = F.col("home_score"), F.col("away_score")
            sign = (h > a).cast("int") - (h < a).cast("int")
            (total,) = df.where(~F.col("neutral")).agg(F.sum(sign)).first()
        return int(total or 0)

    def team_records(self, matches: Input) -> spec.TeamRecords:
        with self._reading(matches):
            rows = (_sides(self._read_matches(matches)).groupBy("team")
                    .agg(F.count("*"), *_record_sums())
                    .collect())
        return {r[0]: spec.TeamRecord(*r[1:]) for r in rows}

    def team_ratings(self, matches: Input) -> spec.Ratings:
        """Code the matches once into a cached RDD of numpy arrays, then K cheap passes.

        Each pass broadcasts the ratings and sums per-partition gradients (numpy bincount):
        one single-stage job over in-memory arrays, where a DataFrame pass is a new plan to
        analyse and optimise, and a shuffle, every time (docs/engines.md).
        """
        teams, n_played, coded = self._coded_matches(matches)
        try:
            ratings = np.zeros(len(teams))
            for _ in range(spec.RATING_PASSES):
                current = self.sc.broadcast(ratings)
                grad = coded.map(functools.partial(_partition_gradient, current)).reduce(
                    operator.add)
                current.destroy()
                ratings = frames.step(ratings, grad, n_played)
        finally:
            coded.unpersist()
        return frames.ratings_answer(teams, ratings)

    def unbeaten_streaks(self, matches: Input) -> spec.Streaks:
        """Each match as two sides; per team the sides sorted by (date, match_id) in one array,
        folded by a higher-order `aggregate` into the longest unbeaten run (docs/engines.md).
        Under a memory budget, windows over the sides sorted by team instead (`_runs_sorted`):
        an array per team is built in the heap uncounted, a sort spills."""
        with self._reading(matches):
            sides = _streak_sides(self._read(matches))
            if self.settings.memory is not None:
                rows = _runs_sorted(sides).collect()
            else:
                rows = (sides.groupBy("team").agg(_longest_run(F.sort_array(F.collect_list(
                    F.struct(*STREAK_ORDER, "unbeaten"))))).collect())
        return dict(rows)

    def top_scorers(self, goals: Input, matches: Input) -> spec.TopScorers:
        """The counted goals joined to the matches (sort-merge join), counted per (tournament,
        scorer); per tournament the minimum of (-goals, scorer) is the top scorer."""
        with self._reading(goals, matches):
            scoring = (self._read(goals)
                       .where(~F.col("own_goal") & (F.col("scorer") != UNKNOWN_SCORER))
                       .select(*JOIN_KEY, "scorer"))
            keyed = self._read(matches).select(*JOIN_KEY, "tournament")
            counts = scoring.join(keyed, list(JOIN_KEY)).groupBy("tournament", "scorer").count()
            rows = counts.groupBy("tournament").agg(F.min(F.struct(
                (-F.col("count")).alias("fewer"), "scorer")).alias("top")).collect()
        return {t: (top.scorer, -top.fewer) for t, top in rows}

    def _coded_matches(self, inp: Input) -> tuple[pd.Index, np.ndarray, RDD[Coded]]:
        """Teams (sorted), matches played per team, and the matches coded for the passes.

        Two jobs: the teams and their match counts; then the matches coded in the JVM (broadcast
        joins with the team index) and packed per partition into numpy arrays, cached as an RDD.
        Reading twice beats caching the parsed strings in between (docs/engines.md).
        """
        assert self.spark is not None, "start() the engine first"
        with self._reading(inp):
            df = self._read_matches(inp)
            counts = sorted(df.select(F.explode(F.array("home_team", "away_team")).alias("team"))
                            .groupBy("team").count().collect())
            teams = pd.Index([t for t, _ in counts])
            n_played = np.array([n for _, n in counts], dtype=np.float64)
            index = self.spark.createDataFrame(list(enumerate(teams)), "code int, team string")
            with _no_pandas_warning():
                pack = functools.partial(_pack_arrays, most=BUDGET_CODED_ROWS
                                         if self.settings.memory else CODED_ROWS)
                blobs = _coded(df, index).mapInArrow(pack, "coded binary")
            coded = blobs.rdd.map(_unpickle_first)
            # Under a memory budget the blocks that the heap cannot hold go to disk; cached
            # in memory only, they would be dropped and read from the CSV again every pass.
            coded = coded.persist(StorageLevel.MEMORY_AND_DISK if self.settings.memory
                                  else StorageLevel.MEMORY_ONLY)
            coded.count()
        return teams, n_played, coded


# --------------------------------------------------------------------------- DataFrame helpers

def _coded(df: DataFrame, index: DataFrame) -> DataFrame:
    """What a rating pass needs (CODED_COLUMNS): team codes by broadcast joins with the
    (code, team) index, y = 1 / 0.5 / 0 for a home win / draw / away win, the home bonus."""
    h, a = F.col("home_score"), F.col("away_score")
    home = F.broadcast(index.withColumnsRenamed({"code": "home", "team": "home_team"}))
    away = F.broadcast(index.withColumnsRenamed({"code": "away", "team": "away_team"}))
    return df.join(home, "home_team").join(away, "away_team").select(
        "home", "away",
        F.when(h > a, 1.0).when(h == a, 0.5).otherwise(0.0).alias("y"),
        F.when(F.col("neutral"), 0.0).otherwise(spec.RATING_HOME_BONUS).alias("bonus"))


def _record_sums() -> list[Column]:
    """won, drawn, lost, goals_for, goals_against: sums over a team's sides."""
    gf, ga = F.col("goals_for"), F.col("goals_against")
    return [F.sum(c).cast("long") for c in ((gf > ga).cast("int"), (gf == ga).cast("int"),
                                            (gf < ga).cast("int"), gf, ga)]


def _sides(df: DataFrame) -> DataFrame:
    """Each match twice, as (team, goals_for, goals_against) from either side: one scan."""
    def side(team: str, gf: str, ga: str) -> Column:
        return F.struct(F.col(team).alias("team"), F.col(gf).alias("goals_for"),
                        F.col(ga).alias("goals_against"))

    return df.select(F.inline(F.array(side("home_team", "home_score", "away_score"),
                                      side("away_team", "away_score", "home_score"))))


def _streak_sides(df: DataFrame) -> DataFrame:
    """Each match twice, as (team, date, match_id, unbeaten) from either side: one scan."""
    h, a = F.col("home_score"), F.col("away_score")

    def side(team: str, unbeaten: Column) -> Column:
        return F.struct(F.col(team).alias("team"), *STREAK_ORDER, unbeaten.alias("unbeaten"))

    return df.select(F.inline(F.array(side("home_team", h >= a), side("away_team", a >= h))))


def _runs_sorted(sides: DataFrame) -> DataFrame:
    """team -> its longest unbeaten run, over sides sorted by team, date and match id: n counts
    a team's unbeaten sides so far, and a run's length is n less its value at the last loss
    (two running windows, one sort), whose maximum is the longest run."""
    so_far = (Window.partitionBy("team").orderBy(*STREAK_ORDER)
              .rowsBetween(Window.unboundedPreceding, Window.currentRow))
    unbeaten = F.col("unbeaten")
    counted = sides.withColumn("n", F.sum(unbeaten.cast("long")).over(so_far))
    at_loss = F.max(F.when(~unbeaten, F.col("n")).otherwise(0)).over(so_far)
    return counted.withColumn("run", F.col("n") - at_loss).groupBy("team").agg(F.max("run"))


def _longest_run(matches: Column) -> Column:
    """The longest run of unbeaten entries in an array of structs with an `unbeaten` field."""
    def step(acc: Column, match: Column) -> Column:
        run = F.when(match["unbeaten"], acc["run"] + 1).otherwise(0)
        return F.struct(run.alias("run"), F.greatest(acc["best"], run).alias("best"))

    start = F.struct(F.lit(0).alias("run"), F.lit(0).alias("best"))
    return F.aggregate(matches, start, step, lambda acc: acc["best"])


#: The packages a cluster's executors import: the engine's task functions are in `workloads`.
SHIPPED_PACKAGES = ("workloads",)


def _code_zip() -> Path:
    """The packages of `SHIPPED_PACKAGES` zipped for a cluster's executors (what --py-files
    ships), in a private temporary file."""
    path, fd = scratch.file("spark", ".zip")
    with os.fdopen(fd, "wb") as file, zipfile.ZipFile(file, "w") as z:
        for package in SHIPPED_PACKAGES:
            for file in sorted((CODE_ROOT / package).rglob("*.py")):
                z.write(file, file.relative_to(CODE_ROOT))
    return path


def _stop_session(spark: SparkSession) -> None:
    """`spark.stop()`, quietly whatever state the JVM is in. With the JVM gone (killed,
    crashed), Py4J cannot connect (ConnectionRefusedError, an OSError) or gets no answer (a
    Py4JError, on which PySpark also warns), and PySpark's stop ends halfway: what it would have
    cleared in this process is cleared here, so that a later `start` makes a new session."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            spark.stop()
            return
        except (Py4JError, OSError):
            pass
    sc = spark.sparkContext
    sc._jsc = None
    if sc._accumulatorServer is not None:  # a listener in this process, whatever the JVM
        sc._accumulatorServer.shutdown()
        sc._accumulatorServer = None
    with SparkContext._lock:
        SparkContext._active_spark_context = None
    SparkSession._instantiatedSession = None
    SparkSession._activeSession = None
    SQLContext._instantiatedContext = None


def _end(proc: subprocess.Popen[Any] | None, timeout: float = 10.0) -> None:
    """End the JVM that pyspark launched: close its stdin (it exits), else terminate, else kill."""
    if proc is None:
        return
    try:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@functools.cache  # asked for by start and by each conf; a name's lookup can take seconds
def driver_address(master: str | None) -> str:
    """Where the driver listens: on the interface that reaches the master, for executors on
    other hosts to connect back (loopback for a local master or one on loopback)."""
    if not master or probes.is_local_master(master):
        return LOOPBACK
    endpoint = probes.parse_spark_master(master, Settings.variable(MASTER_SETTING))[0]
    try:
        return net.facing(probes.host_addresses(endpoint.host)[0])
    except (OSError, IndexError):
        return LOOPBACK  # the probe of the master says what is wrong, in one line


def probe_master(master: str, timeout: float = probes.DEFAULT_TIMEOUT) -> None:
    """Fail in one line naming a master URL where no standalone master answers (Spark itself
    would wait a minute, then print a stack trace); `local[...]` needs no probe."""
    if not probes.is_local_master(master):
        probes.check_spark_master(master, timeout, source=Settings.variable(MASTER_SETTING))
