"""The manual pass: one static HTML page to review a manifest, and applying its exported decisions.

`write_review(rows, out_html)` writes OUT.html plus OUT_files/ (one frame strip PNG per clip). The page
needs no server: per clip a frame strip, an audio player on the source file's time span, the stage
scores and reason, and a keep checkbox (preset to the automatic decision); filters by class, stage
and status; "Export" downloads `decisions.json` = {"keep": [[video, clip], ...], "reject": [...]},
which `asva curate finalize` turns into the dataset.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

from asva.utils import atomic_path

STRIP_FRAMES, STRIP_HEIGHT = 6, 72


def frame_strip(path: str, start: float, end: float, out: Path) -> None:
    """STRIP_FRAMES frames evenly over [start, end), side by side, as a PNG."""
    import numpy as np
    from PIL import Image

    from asva.media import read_video
    from asva.media.frames import unit_to_uint8

    fps = STRIP_FRAMES / max(end - start, 1e-3)
    frames = read_video(path, fps=fps, size=STRIP_HEIGHT, start=start, duration=end - start)[:, :STRIP_FRAMES]
    frames = unit_to_uint8(frames)  # (3, f, h, w) float [0, 1] -> uint8
    strip = frames.permute(2, 1, 3, 0).reshape(STRIP_HEIGHT, -1, 3).numpy()  # (h, f * w, 3)
    with atomic_path(out) as tmp:
        Image.fromarray(np.ascontiguousarray(strip)).save(tmp)


def _clip_id(row: dict) -> str:
    return json.dumps([row["video"], row["clip"]])


def _card(row: dict, strip: str | None) -> str:
    scores = " ".join(f"{k}={v:.3g}" for k, v in sorted(row["scores"].items()))
    verdict = "kept" if row["status"] == "kept" else f"rejected by {row['stage']}: {row['reason']}"
    media = ""
    if strip:
        src = Path(row["path"]).resolve().as_uri() + f"#t={row['start']:.2f},{row['end']:.2f}"
        media = (
            f'<img src="{html.escape(strip)}" alt="frames" height="{STRIP_HEIGHT}">'
            f'<audio controls preload="none" src="{html.escape(src)}"></audio>'
        )
    checked = " checked" if row["status"] == "kept" else ""
    span = "" if row["clip"] is None else f" [{row['start']:.1f}-{row['end']:.1f} s]"
    return (
        f'<div class="clip" data-id="{html.escape(_clip_id(row))}" data-label="{html.escape(row["label"])}" '
        f'data-stage="{html.escape(row["stage"] or "kept")}" data-status="{row["status"]}">'
        f'<div class="head"><label><input type="checkbox" class="keep"{checked}> keep</label> '
        f"<b>{html.escape(row['video'])}</b>{span} <i>{html.escape(row['label'])}</i></div>{media}"
        f'<div class="scores">{html.escape(scores)}</div>'
        f'<div class="verdict">{html.escape(verdict)}</div></div>'
    )


SCRIPT = """
function applyFilters() {
  const label = document.getElementById('f-label').value, stage = document.getElementById('f-stage').value;
  let shown = 0;
  for (const c of document.querySelectorAll('.clip')) {
    const ok = (!label || c.dataset.label === label) && (!stage || c.dataset.stage === stage);
    c.style.display = ok ? '' : 'none'; shown += ok;
  }
  document.getElementById('count').textContent = shown + ' shown';
}
function decisions() {
  const out = {keep: [], reject: []};
  for (const c of document.querySelectorAll('.clip')) {
    if (JSON.parse(c.dataset.id)[1] === null) continue;
    (c.querySelector('.keep').checked ? out.keep : out.reject).push(JSON.parse(c.dataset.id));
  }
  return out;
}
function exportDecisions() {
  const text = JSON.stringify(decisions(), null, 1);
  document.getElementById('export-text').value = text;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], {type: 'application/json'}));
  a.download = 'decisions.json'; a.click();
}
document.getElementById('f-label').onchange = applyFilters;
document.getElementById('f-stage').onchange = applyFilters;
document.getElementById('export').onclick = exportDecisions;
applyFilters();
"""

STYLE = """body{font-family:sans-serif;margin:1em;background:#fafafa}
.clip{background:#fff;border:1px solid #ccc;margin:6px 0;padding:6px}
.clip[data-status=rejected]{border-left:6px solid #c33}.clip[data-status=kept]{border-left:6px solid #3a3}
.scores{font-family:monospace;font-size:12px;color:#333}.verdict{font-size:12px;color:#666}
audio{height:28px;vertical-align:middle;margin-left:8px}img{vertical-align:middle}
#bar{position:sticky;top:0;background:#eee;padding:6px;z-index:1}textarea{width:100%;height:4em}"""


def _select(name: str, values: list[str], every: str) -> str:
    options = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)
    return f'<select id="f-{name}"><option value="">{every}</option>{options}</select>'


def write_review(rows: list[dict], out: str | Path, *, thumbnails: bool = True) -> Path:
    """The review page for `rows` (manifest rows) at `out`, its frame strips in `out`'s _files folder."""
    out = Path(out)
    files = out.with_name(out.stem + "_files")
    cards = []
    for n, row in enumerate(rows):
        strip = None
        if thumbnails and row["clip"] is not None:
            png = files / f"{n:06d}.png"
            if not png.is_file():
                png.parent.mkdir(parents=True, exist_ok=True)
                frame_strip(row["path"], row["start"], row["end"], png)
            strip = f"{files.name}/{png.name}"
        cards.append(_card(row, strip))
    labels = sorted({r["label"] for r in rows})
    stages = sorted({r["stage"] or "kept" for r in rows})
    by_stage = Counter(r["stage"] or "kept" for r in rows)
    totals = ", ".join(f"{stage} {n}" for stage, n in sorted(by_stage.items()))
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>asva curate review</title>"
        f"<style>{STYLE}</style></head><body><div id='bar'><b>{len(rows)} rows</b> ({html.escape(totals)}) "
        f"{_select('label', labels, 'all classes')} "
        f"{_select('stage', stages, 'all stages')} <span id='count'></span> "
        f"<button id='export'>Export decisions</button><textarea id='export-text' readonly></textarea>"
        f"</div>{''.join(cards)}<script>{SCRIPT}</script></body></html>\n"
    )
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out


def apply_decisions(rows: list[dict], decisions: dict) -> list[dict]:
    """Rows with the review's keep / reject decisions applied (a manual reject gets stage "review")."""
    keep = {tuple(k) for k in decisions.get("keep", [])}
    reject = {tuple(k) for k in decisions.get("reject", [])}
    known = {(r["video"], r["clip"]) for r in rows}
    unknown = (keep | reject) - known
    if unknown:
        raise ValueError(
            f"decisions name {len(unknown)} clip(s) not in the manifest, e.g. {sorted(unknown)[0]}"
        )
    out = []
    for r in rows:
        key = (r["video"], r["clip"])
        if key in keep and r["status"] != "kept":
            r = {**r, "status": "kept", "stage": None, "reason": f"kept in review (was: {r['reason']})"}
        elif key in reject and r["status"] == "kept":
            r = {**r, "status": "rejected", "stage": "review", "reason": "rejected in review"}
        out.append(r)
    return out
