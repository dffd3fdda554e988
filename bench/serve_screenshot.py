"""Screenshot `codedreamer serve` in headless Chromium, as a browser user would see it.

    python -m bench.serve_screenshot http://127.0.0.1:8080/ docs/screenshots/serve.png

textual-serve shows a start page; this clicks it (the browser tab then runs
`codedreamer tui --attach` on the server), waits for the TUI to draw, and saves a PNG.
It drives Chromium over the DevTools protocol with aiohttp (a textual-serve dependency),
so nothing beyond the Debian `chromium` package is needed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp


class DevTools:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.next_id = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.socket.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = json.loads((await self.socket.receive()).data)
            if message.get("id") == self.next_id:
                return dict(message.get("result", {}))


async def shoot(url: str, output: Path, width: int, height: int, wait: float) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="cd-chromium-")
    browser = subprocess.Popen(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-port=9333",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:9333/json", timeout=2) as response:
                    pages = [p for p in json.load(response) if p.get("type") == "page"]
                if pages:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("chromium did not start")
            time.sleep(0.3)
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as socket,
        ):
            tools = DevTools(socket)
            await tools.call("Page.enable")
            await tools.call("Page.navigate", url=url)
            await asyncio.sleep(3)
            # textual-serve's start page: a click starts the app in this tab.
            for kind in ("mousePressed", "mouseReleased"):
                await tools.call(
                    "Input.dispatchMouseEvent",
                    type=kind,
                    x=width // 2,
                    y=height // 2,
                    button="left",
                    clickCount=1,
                )
            await asyncio.sleep(wait)
            shot = await tools.call("Page.captureScreenshot", format="png")
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_bytes(base64.b64decode(shot["data"]))
    finally:
        browser.terminate()
        browser.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("output", type=Path)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--wait", type=float, default=12.0, help="seconds for the TUI to draw")
    args = parser.parse_args()
    asyncio.run(shoot(args.url, args.output, args.width, args.height, args.wait))
    print(f"saved {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
