#!/usr/bin/env python3
"""The seed's Twisted Web server ("Scaling Twisted Web", 2013), rebuilt for Twisted 22 / Python 3.9+.

The master creates the listening socket, stops reading it and spawns worker processes that adopt
the same socket and accept on it directly: the kernel, not the master, hands connections to the
workers, so there is no dispatcher to become a bottleneck.

    pypy3 scenarios/seed-2013/twisted_server.py --port 8080 --workers 2 --resource fixed --silence

On Debian: apt-get install pypy3 python3-twisted (also runs on /usr/bin/python3).
"""

import argparse
import os
import platform
import shutil
import signal
import socket
import sys
import tempfile

PROG = "twisted_server"

# Debian packages Twisted for its CPython only; PyPy shares the pure-Python code but does not
# search that directory.
DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"

# Fixed fd numbers in a worker, so the worker never has to be told where things are.
MASTER_WATCH_FD = 0  # read end of a pipe whose write end only the master holds
LISTEN_FD = 3  # the master's listening socket
READY_FD = 4  # worker -> master: "listening"

# How long the master waits after SIGTERM to its workers before it SIGKILLs them; keeps the
# whole stop well inside the 3 s a supervisor may allow.
WORKER_STOP_GRACE_S = 2.0
STATS_INTERVAL_S = 5.0


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad option costs one line on stderr instead of the usage block."""

    def error(self, message):
        self.exit(2, "%s: error: %s (see --help)\n" % (PROG, message))


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, got %d" % value)
    return value


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative, got %d" % value)
    return value


def port_number(text):
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0-65535, got %d" % value)
    return value


def available_cpus():
    # Honour taskset/cgroup affinity: more workers than usable cores only adds contention.
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parse_args(argv):
    parser = OneLineArgumentParser(
        prog=PROG, description="Twisted Web on a socket shared by worker processes (the 2013 seed's design)."
    )
    parser.add_argument("--port", type=port_number, default=8080, help="TCP port (default 8080; 0 = any free port)")
    parser.add_argument("--host", default="0.0.0.0", help="interface to listen on (default 0.0.0.0)")
    parser.add_argument(
        "--workers", type=positive_int, default=available_cpus(), help="worker processes (default: usable CPUs)"
    )
    parser.add_argument(
        "--backlog", type=positive_int, default=8192, help="listen backlog (default 8192; the kernel caps it at somaxconn)"
    )
    parser.add_argument("--resource", choices=("file", "fixed"), default="file", help="what GET / serves (default file)")
    parser.add_argument("--payload", type=non_negative_int, default=40, help="body size in bytes (default 40)")
    parser.add_argument(
        "--root", help="directory for the file resource (default: a private temp dir holding index.html of --payload '*')"
    )
    parser.add_argument("--silence", action="store_true", help="no per-request or per-interval logging")
    # Internal: set by the master on the command lines of the workers it spawns.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.root is not None and not os.path.isdir(options.root):
        parser.error("--root %s is not a directory" % options.root)
    return options


def import_twisted():
    try:
        import twisted
    except ImportError:
        if DEBIAN_DIST_PACKAGES in sys.path or not os.path.isdir(DEBIAN_DIST_PACKAGES):
            raise
        # Appended, not prepended: the interpreter's own standard library must win.
        sys.path.append(DEBIAN_DIST_PACKAGES)
        import twisted
    return twisted


def interpreter_description():
    if platform.python_implementation() == "PyPy":
        v = sys.pypy_version_info
        return "PyPy %d.%d.%d (Python %s)" % (v.major, v.minor, v.micro, platform.python_version())
    return "%s %s" % (platform.python_implementation(), platform.python_version())


def kernel_somaxconn():
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def say(message):
    sys.stderr.write("%s: %s\n" % (PROG, message))
    sys.stderr.flush()


def start_logging(silence):
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    # Always begin logging, even when silent: until something begins it, Twisted buffers every
    # event in memory, and real errors (a traceback in a resource) would never be seen.
    observer = textFileLogObserver(sys.stderr)
    if silence:
        observer = FilteringLogObserver(observer, [LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)])
    # redirectStandardIO=False: the master's ready line must reach the real stdout.
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)


# ---------------------------------------------------------------------------------------------
# Worker


def build_site(options, reactor):
    from twisted.web import server, static
    from twisted.web.resource import Resource

    body = b"*" * options.payload

    class FixedResource(Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"content-type", b"text/html")
            # Returning bytes (not request.write) makes Twisted set Content-Length, which keeps
            # HTTP/1.1 connections alive.
            return body

    if options.resource == "fixed":
        root = FixedResource()
    else:
        root = static.File(options.root)

    class WorkerSite(server.Site):
        noisy = False

        def log(self, request):
            # The seed's --silence: formatting an access log line per request costs as much as
            # serving a small response.
            pass

    class CountingSite(WorkerSite):
        requests = 0

        def log(self, request):
            self.requests += 1
            server.Site.log(self, request)

    if options.silence:
        return WorkerSite(root)

    site = CountingSite(root)
    from twisted.internet.task import LoopingCall

    state = {"last": 0}

    def report():
        served = site.requests - state["last"]
        state["last"] = site.requests
        if served:
            say("worker %d: %d requests in the last %g s" % (os.getpid(), served, STATS_INTERVAL_S))

    LoopingCall(report).start(STATS_INTERVAL_S, now=False)
    return site


def run_worker(options):
    from twisted.internet import reactor
    from twisted.internet.interfaces import IReadDescriptor
    from twisted.internet.main import CONNECTION_DONE
    from twisted.internet.task import LoopingCall
    from zope.interface import implementer

    start_logging(options.silence)

    # The master stops us with SIGTERM; Ctrl-C in a terminal signals the whole process group,
    # and a worker that stopped on its own would look to the master like a crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    site = build_site(options, reactor)
    # PyPy's socket.fromfd (inside adoptStreamPort) applies the default timeout to the fd, and with
    # the stock default (None: blocking) it clears O_NONBLOCK. That flag lives on the file
    # description the master and every worker share: a worker would then block in accept() with
    # its accepted connections unserved, and a respawned worker would do that to the running ones.
    # A default of 0.0 makes fromfd set the flag instead, which is a no-op on this socket.
    socket.setdefaulttimeout(0.0)
    try:
        reactor.adoptStreamPort(LISTEN_FD, family, site)
    finally:
        socket.setdefaulttimeout(None)
    # adoptStreamPort works on a duplicate; holding the original too would only confuse anyone
    # counting who has the socket open.
    os.close(LISTEN_FD)

    @implementer(IReadDescriptor)
    class MasterWatch:
        """EOF on the pipe from the master means it is gone, however it died (even SIGKILL)."""

        def fileno(self):
            return MASTER_WATCH_FD

        def doRead(self):
            try:
                data = os.read(MASTER_WATCH_FD, 4096)
            except BlockingIOError:
                return None
            except OSError:
                return CONNECTION_DONE
            return None if data else CONNECTION_DONE

        def connectionLost(self, reason):
            stop()

        def logPrefix(self):
            return "master-watch"

    def stop():
        if reactor.running:
            reactor.stop()

    from twisted.internet import fdesc

    fdesc.setNonBlocking(MASTER_WATCH_FD)
    reactor.addReader(MasterWatch())

    master = os.getppid()

    def check_parent():
        # Backstop for the pipe: reparenting means the master is gone.
        if os.getppid() != master:
            stop()

    LoopingCall(check_parent).start(0.5, now=False)

    def report_ready():
        # Sent from inside the running reactor, so the socket is really being polled for accepts.
        try:
            os.write(READY_FD, b"listening %d\n" % os.getpid())
            os.close(READY_FD)
        except OSError:
            stop()

    reactor.callWhenRunning(report_ready)
    reactor.run()
    return 0


# ---------------------------------------------------------------------------------------------
# Master


def make_default_root(payload):
    root = tempfile.mkdtemp(prefix="twisted_server-")
    with open(os.path.join(root, "index.html"), "wb") as f:
        f.write(b"*" * payload)
    return root


def worker_argv(options):
    argv = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--host",
        options.host,
        "--resource",
        options.resource,
        "--payload",
        str(options.payload),
    ]
    if options.root is not None:
        argv += ["--root", options.root]
    if options.silence:
        argv.append("--silence")
    return argv


def run_master(options, twisted_version):
    from twisted.internet import defer, error, protocol, reactor
    from twisted.web import resource, server

    start_logging(options.silence)

    # The master never accepts (it stops reading at once); any factory will do.
    placeholder = server.Site(resource.Resource())
    placeholder.noisy = False
    try:
        listening = reactor.listenTCP(options.port, placeholder, backlog=options.backlog, interface=options.host)
    except error.CannotListenError as e:
        say("cannot listen on %s:%d: %s" % (options.host, options.port, e.socketError))
        return 1
    listening.stopReading()
    listen_fd = listening.fileno()
    bound_port = listening.getHost().port

    somaxconn = kernel_somaxconn()
    backlog = options.backlog if somaxconn is None else min(options.backlog, somaxconn)
    if backlog < options.backlog:
        say("backlog %d capped by the kernel to net.core.somaxconn=%d" % (options.backlog, somaxconn))

    state = {"stopping": False, "ready_printed": False, "exit_code": 0}
    workers = []

    class Worker(protocol.ProcessProtocol):
        def __init__(self, slot, respawned):
            self.slot = slot
            self.respawned = respawned
            self.listening = False
            self.pid = None  # kept: Twisted forgets transport.pid once the process is reaped
            self.ended = defer.Deferred()

        def childDataReceived(self, childFD, data):
            if childFD == READY_FD and data.startswith(b"listening") and not self.listening:
                self.listening = True
                if self.respawned:
                    say("worker %d (respawned) listening" % self.pid)
                maybe_ready()

        def processEnded(self, reason):
            pid = self.pid
            self.ended.callback(None)
            if state["stopping"]:
                return
            why = reason.value
            if isinstance(why, error.ProcessTerminated) and why.signal is not None:
                how = "killed by signal %d" % why.signal
            else:
                how = "exited with code %s" % getattr(why, "exitCode", "?")
            if not self.listening:
                # Dying before listening is a broken setup, not bad luck: respawning would loop.
                say("worker (pid %s) %s before it was listening; stopping" % (pid, how))
                state["exit_code"] = 1
                reactor.stop()
                return
            # Only a worker that once listened is replaced, so a crash loop cannot start here.
            say("worker %s %s unexpectedly; respawning it" % (pid, how))
            reactor.callLater(0.5, spawn, self.slot, True)

    def spawn(slot, respawned=False):
        if state["stopping"]:
            return
        worker = Worker(slot, respawned)
        transport = reactor.spawnProcess(
            worker,
            sys.executable,
            worker_argv(options),
            env=dict(os.environ),
            childFDs={
                MASTER_WATCH_FD: "w",
                # Inherited, as in the seed: workers write straight to the master's stdout/stderr.
                1: 1,
                2: 2,
                LISTEN_FD: listen_fd,
                READY_FD: "r",
            },
        )
        worker.pid = transport.pid
        if slot < len(workers):
            workers[slot] = worker
        else:
            workers.append(worker)

    def maybe_ready():
        if state["ready_printed"] or len(workers) < options.workers:
            return
        if not all(w.listening for w in workers):
            return
        state["ready_printed"] = True
        line = (
            "%s: ready on http://%s:%d/ workers=%d resource=%s payload=%d backlog=%d interpreter=%s twisted=%s "
            "master=%d worker_pids=%s"
            % (
                PROG,
                "[%s]" % options.host if ":" in options.host else options.host,
                bound_port,
                options.workers,
                options.resource,
                options.payload,
                backlog,
                interpreter_description(),
                twisted_version,
                os.getpid(),
                ",".join(str(w.pid) for w in workers),
            )
        )
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except OSError:
            pass

    def stop_workers():
        state["stopping"] = True
        alive = [w for w in workers if not w.ended.called]
        for w in alive:
            try:
                w.transport.signalProcess("TERM")
            except error.ProcessExitedAlready:
                pass

        def kill_stragglers():
            for w in alive:
                if not w.ended.called:
                    say("worker %d ignored SIGTERM; killing it" % w.pid)
                    try:
                        w.transport.signalProcess("KILL")
                    except error.ProcessExitedAlready:
                        pass

        timer = reactor.callLater(WORKER_STOP_GRACE_S, kill_stragglers)
        done = defer.DeferredList([w.ended for w in alive])

        def cancel_timer(result):
            if timer.active():
                timer.cancel()
            return result

        return done.addBoth(cancel_timer)

    # A "before shutdown" trigger that returns a Deferred holds the reactor open until every
    # worker is reaped, whatever stopped it (SIGTERM, SIGINT, a failed start).
    reactor.addSystemEventTrigger("before", "shutdown", stop_workers)

    def spawn_all():
        for slot in range(options.workers):
            spawn(slot)

    reactor.callWhenRunning(spawn_all)
    reactor.run()
    return state["exit_code"]


def main(argv):
    options = parse_args(argv)
    try:
        twisted = import_twisted()
    except ImportError as e:
        say("cannot import Twisted under %s (%s); install: apt-get install python3-twisted" % (sys.executable, e))
        return 1

    if options.worker:
        return run_worker(options)

    temp_root = None
    # Twisted installs its own SIGTERM handler only once the reactor runs; until then a SIGTERM
    # must still unwind through the finally below so the temp root is removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        if options.resource == "file" and options.root is None:
            temp_root = make_default_root(options.payload)
            options.root = temp_root
        return run_master(options, twisted.__version__)
    except KeyboardInterrupt:
        return 0
    finally:
        if temp_root is not None:
            shutil.rmtree(temp_root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
