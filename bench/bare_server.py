"""The baseline of the throughput figures: a bare Starlette app served as `razbor serve` is.

    python bench/bare_server.py --workers N --host H --port P

One async route returning a small HTML page, in as many processes as asked, started the way
`razbor serve --workers N` starts its own (razbor.web.processes: a listening socket per
process): the same server settings, so a ratio to this app's rate measures razbor's own work
per request.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from razbor.web.processes import serve_processes

PAGE = ("<!doctype html><html lang=en><head><meta charset=utf-8><title>bare</title></head>"
        "<body><h1>Bare Starlette</h1><p>One route, one small page.</p></body></html>")


def bare_app() -> Starlette:
    async def page(request):
        return HTMLResponse(PAGE)

    return Starlette(routes=[Route("/", page)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if args.workers == 1:
        uvicorn.run(bare_app(), host=args.host, port=args.port, log_level="warning")
    else:
        sys.exit(serve_processes("bare_server:bare_app", args.host, args.port, args.workers,
                                 log_level="warning"))

if __name__ == "__main__":
    main()
