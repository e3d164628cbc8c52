#!/usr/bin/env python3
"""A minimal Lambda Runtime API that drives one runtime process through a list of events, for
layer-build/test-layer.sh.

  runtime_api.py --events EVENTS.json --out RESULTS.json [--timeout S] -- COMMAND...

Listens on 127.0.0.1 (a free port), starts COMMAND with AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT in its
environment (the form Lambda uses; "@RUNTIME_API@" in COMMAND is replaced by it as well), hands it the
events one at a time like Lambda (the next event only after the previous one was answered), then stops it
with SIGTERM and writes RESULTS.json:

  {"cold_start": {"spawn_to_first_next_ms", "spawn_to_first_response_ms"},
   "results": [{"event", "status": "response"|"error", "body", "headers", "ms"}],
   "init_error": ..., "exit_code": ...}

With --cpu, the on-CPU time of COMMAND's whole process tree (/proc/PID/schedstat of every live
descendant, in ms) is sampled at the first /next ("cpu_at_first_next_ms") and at each answer ("cpu_ms" of
each result): unlike the wall clock it hardly moves with other load on the machine. The time spent
sampling is left out of the timings.

Each event is either a Lambda event object or {"event": {...}, "cookie_from": N}: the cookies that the
response to event N set are sent along (cookies array of an HTTP API v2 event), for session checks.
Exits non-zero when the runtime died early, failed its init, or the run timed out.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, events):
        self.events = events
        self.index = 0                 # event handed out next
        self.results = []
        self.cond = threading.Condition()
        self.current = None            # request id in flight
        self.started_at = None
        self.first_next = None
        self.first_response = None
        self.sent_at = None
        self.init_error = None
        self.done = threading.Event()
        self.root_pid = None           # set with --cpu
        self.cpu_at_first_next = None
        self.sampling = 0.0            # seconds spent sampling before the first event went out


def tree_cpu_ms(root):
    """On-CPU time (ms) of root and its live descendants, from /proc/PID/schedstat (nanoseconds)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(children.get(pid, []))
    return round(total / 1e6, 2)


def cookies_of(result):
    try:
        return [c.split(";", 1)[0] for c in json.loads(result["body"]).get("cookies", [])]
    except (ValueError, AttributeError):
        return []


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            super().setup()
            # The head and the body leave in separate writes; with Nagle's algorithm on, the body then
            # waits for the runtime's delayed ACK (40 ms on Linux) and every warm invocation looks 40 ms slow.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b""):
                            pass  # trailers
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def reply(self, code, payload=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            if not self.path.endswith("/2018-06-01/runtime/invocation/next"):
                return self.reply(404)
            with state.cond:
                if state.first_next is None:
                    state.first_next = time.monotonic()
                    if state.root_pid is not None:
                        state.cpu_at_first_next = tree_cpu_ms(state.root_pid)
                        state.sampling = time.monotonic() - state.first_next
                # Block like Lambda: the environment is "frozen" until there is work.
                state.cond.wait_for(lambda: state.current is None and state.index < len(state.events))
                spec = state.events[state.index]
                event = spec.get("event", spec) if "cookie_from" in spec else spec
                if "cookie_from" in spec:
                    event = json.loads(json.dumps(event))
                    event["cookies"] = cookies_of(state.results[spec["cookie_from"]])
                state.index += 1
                state.current = str(uuid.uuid4())
                state.sent_at = time.monotonic()
            payload = json.dumps(event).encode()
            self.reply(200, payload, [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", state.current),
                ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:test"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ])

        def do_POST(self):
            data = self.body()
            parts = self.path.split("/")
            if self.path.endswith("/runtime/init/error"):
                state.init_error = data.decode(errors="replace")
                self.reply(202, b"{}")
                state.done.set()
                return
            if len(parts) >= 2 and parts[-1] in ("response", "error") and parts[-2] == state.current:
                now = time.monotonic()
                with state.cond:
                    if state.first_response is None:
                        state.first_response = now
                    state.results.append({
                        "event": state.index - 1,
                        "status": parts[-1],
                        "body": data.decode(errors="replace"),
                        "headers": dict(self.headers),
                        "ms": round((now - state.sent_at) * 1000, 2),
                    })
                    if state.root_pid is not None:
                        state.results[-1]["cpu_ms"] = tree_cpu_ms(state.root_pid)
                    state.current = None
                    state.cond.notify_all()
                    if len(state.results) == len(state.events):
                        state.done.set()
                return self.reply(202, b"{}")
            self.reply(400, b'{"errorMessage":"unknown request id"}')

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--cpu", action="store_true", help="sample the process tree's CPU time (see above)")
    ap.add_argument("command", nargs="+")
    args = ap.parse_args()

    state = State(json.load(open(args.events)))
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"127.0.0.1:{server.server_address[1]}"
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=api)
    # @RUNTIME_API@ in the command is replaced too: a sandbox started with a cleared environment
    # (bwrap --clearenv) passes it on with --setenv.
    command = [a.replace("@RUNTIME_API@", api) for a in args.command]

    state.started_at = time.monotonic()
    proc = subprocess.Popen(command, env=env)
    if args.cpu:
        state.root_pid = proc.pid
    deadline = time.monotonic() + args.timeout
    while not state.done.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            break
    died = proc.poll()
    if died is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    server.shutdown()

    ms = lambda t: None if t is None else round((t - state.started_at) * 1000, 1)
    out = {
        "cold_start": {"spawn_to_first_next_ms": ms(state.first_next),
                       "spawn_to_first_response_ms": ms(state.first_response and state.first_response - state.sampling)},
        "cpu_at_first_next_ms": state.cpu_at_first_next,
        "results": state.results,
        "init_error": state.init_error,
        "exit_code": died,
        "timed_out": not state.done.is_set() and died is None,
    }
    json.dump(out, open(args.out, "w"), indent=1)
    if state.init_error or len(state.results) < len(state.events):
        print(f"runtime_api: {len(state.results)}/{len(state.events)} events answered; init_error={state.init_error}"
              f" exit_code={died} timed_out={out['timed_out']}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
