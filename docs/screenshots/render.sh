#!/usr/bin/env bash
# Render the TUI's SVG snapshots (tests/__snapshots__/test_tui_snapshots/) as PNGs here.
# The SVGs are what `pytest tests/test_tui_snapshots.py` checks the live app against, so
# the pictures in the README are the screens the tests hold the app to.
# Needs headless Chromium (Debian: apt-get install chromium).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
snapshots="$here/../../tests/__snapshots__/test_tui_snapshots"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "render.sh: needs chromium on PATH" >&2
    exit 1
fi
render() {  # render SVG PNG: draw the SVG at its own size (viewBox) and screenshot the page
    local svg=$1 png=$2 box w h page
    box=$(grep -o 'viewBox="[^"]*"' "$svg" | head -1 | tr -d '"' | cut -d= -f2)
    w=$(echo "$box" | awk '{printf "%d", $3 + 0.5}')
    h=$(echo "$box" | awk '{printf "%d", $4 + 0.5}')
    page=$(mktemp --suffix=.html)
    {
        printf '<html><body style="margin:0;background:#000">'
        sed "s/<svg class=\"rich-terminal\" viewBox/<svg class=\"rich-terminal\" width=\"$w\" height=\"$h\" viewBox/" "$svg"
        printf '</body></html>'
    } >"$page"
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size="$w,$h" --screenshot="$png" "file://$page" >/dev/null 2>&1
    rm -f "$page"
    echo "$png (${w}x${h})"
}
render "$snapshots/test_dashboard_80x24.svg" "$here/tui-80x24.png"
render "$snapshots/test_dashboard_160x50.svg" "$here/tui-160x50.png"
render "$snapshots/test_dream_detail_80x24.svg" "$here/tui-dream-80x24.png"
