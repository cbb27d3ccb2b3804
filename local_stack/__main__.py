"""`python -m local_stack`: run the whole service locally until Ctrl-C.
`python -m local_stack invoke <Function> [event.json]`: invoke one function once against the running stack.

Environment: API_PORT (3000), AWS_PORT (5000), VIDEO_PORT (the api.video double, 5050; 0 takes any
free port, as the tests do; a port that is taken stops the start with a message naming its variable),
HOST (127.0.0.1), STACK_FILE (.local/stack.json), PARAMETER_OVERRIDES ("Name=value ..." for
template parameters, as sam deploy takes them), STRICT (0: the emulator takes any request, as moto does;
for debugging only, docs/local-stack.md#the-strict-emulator).
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

from local_stack.parameters import ParameterRefused
from local_stack.stack import (
    DEFAULT_PORTS,
    STACK_FILE,
    LocalStack,
    PortInUse,
    invoke_once,
    parse_overrides,
    write_stack_file,
)


def port(variable: str) -> int:
    value = os.environ.get(variable, str(DEFAULT_PORTS[variable]))
    if not value.isdigit() or int(value) > 65535:
        raise SystemExit(f"{variable}={value!r} is not a port: a number from 0 (any free port) to 65535")
    return int(value)


def serve(stack_file: Path) -> NoReturn:
    stack = LocalStack(
        host=os.environ.get("HOST", "127.0.0.1"),
        api_port=port("API_PORT"),
        aws_port=port("AWS_PORT"),
        video_port=port("VIDEO_PORT"),
        parameter_overrides=parse_overrides(os.environ.get("PARAMETER_OVERRIDES", "")),
    )
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>`: where every thread is, in the log
    exit_code = 0
    try:
        info = stack.start()
        write_stack_file(info, stack_file)
        print(banner(info, stack_file), flush=True)
        # Waited for in short steps: a signal that the kernel delivers to another thread only sets
        # a flag, which the main thread acts on when it next runs Python code. A wait with no timeout
        # never does (Ctrl-C was lost now and then, under load: the stack did not stop).
        while not stopping.wait(timeout=0.2):
            pass
    except (PortInUse, ParameterRefused) as refused:  # CloudFormation would refuse these parameters
        print(f"\nmake dev: {refused}", file=sys.stderr, flush=True)
        exit_code = 1
    finally:
        print("stopping local stack", file=sys.stderr, flush=True)
        faulthandler.dump_traceback_later(10)  # a stop that hangs says where, in the log
        stack.stop()
        faulthandler.cancel_dump_traceback_later()
        print("stopped", file=sys.stderr, flush=True)
    sys.stdout.flush()
    # Everything we started has stopped; don't let a library's leftover thread hold the exit.
    os._exit(exit_code)


def banner(info: dict[str, Any], stack_file: Path) -> str:
    users = ", ".join(f"{u['username']} / {u['password']}" for u in info["users"])
    return (
        f"\nUpload-token service running locally\n"
        f"  HTTP API      {info['apiUrl']}   (OpenAPI: {info['apiUrl']}/openapi.json)\n"
        f"  demo page     {info['apiUrl']}/demo/   (Uppy; sign in as a demo user)\n"
        f"  AWS emulator  {info['awsEndpoint']}   "
        + (
            "(strict: sign with awsCredentials of the stack file)\n"
            if info["strict"]
            else "(STRICT=0: takes anything)\n"
        )
        + f"  api.video     {info['videoPlatform']['url']}   (a local double; API key: stack file)\n"
        f"  user pool     {info['userPoolId']}  client {info['userPoolClientId']}\n"
        f"  bucket        {info['bucketName']}  queue {info['queueUrl']}\n"
        f"  demo users    {users}\n"
        f"  stack file    {stack_file}\n"
        f"Ctrl-C stops everything."
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack")
    commands = parser.add_subparsers(dest="command")
    invoke = commands.add_parser("invoke", help="invoke one function once against the running stack")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. CleanupFunction")
    invoke.add_argument("event", nargs="?", help="event JSON file (default: {})")
    args = parser.parse_args()
    stack_file = Path(os.environ.get("STACK_FILE", str(STACK_FILE)))
    if args.command == "invoke":
        event = json.loads(Path(args.event).read_text()) if args.event else {}
        print(json.dumps(invoke_once(stack_file, args.function, event), indent=2, default=str))
        return 0
    return serve(stack_file)


if __name__ == "__main__":
    sys.exit(main())
