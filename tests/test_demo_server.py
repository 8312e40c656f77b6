"""`asva demo` end to end: one live server (a subprocess on a free port, bundled model, CPU) driven
by headless Chromium through Playwright and by `gradio_client`, as the README shows it."""
from __future__ import annotations

import os
import re
import socket
import struct
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from asva.demo.examples import bundled_dir  # noqa: E402
from asva.media import probe, read_video  # noqa: E402

CHROMIUM = Path(os.environ.get("ASVA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
STEPS = 2  # the tests check plumbing, not quality
DRUM_SECONDS = 4.0  # the drum example's sound: 24 frames at 6 fps


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300.0) -> None:
    import httpx

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"asva demo exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"asva demo did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The URL of a running `asva demo --concurrency 2` (stopped after the module)."""
    tmp = tmp_path_factory.mktemp("demo")
    port, log = _free_port(), tmp / "server.log"
    cmd = [sys.executable, "-m", "asva.cli", "demo", "--port", str(port), "--concurrency", "2",
           "--workdir", str(tmp / "work"), "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_up(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does; or set ASVA_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    page.goto(server)
    _drum_example(page).wait_for(timeout=60_000)
    yield page
    page.close()


def _drum_example(page):
    """The drum row of the examples table (its sound cell)."""
    return page.get_by_test_id("dataset-cell-0-1")


def _pick_drum_example(page) -> None:
    """Click the drum example and wait until its image is in the image input."""
    _drum_example(page).click()
    page.locator("#input-image img[src*='drum.png']").wait_for(state="attached", timeout=60_000)


def _upload_image(page, path: Path) -> None:
    """Put `path` into the image input and wait until the upload finished (its preview names it)."""
    page.locator("#input-image input[type=file]").set_input_files(str(path))
    page.locator(f"#input-image img[src*='{path.name}']").wait_for(state="attached", timeout=120_000)


def _client(url: str):
    return gradio_client.Client(url, verbose=False)


def _animate(client, seed: int, image: Path | None = None, audio: Path | None = None) -> Path:
    from gradio_client import handle_file

    image = image or bundled_dir() / "drum.png"
    audio = audio or bundled_dir() / "drum.wav"
    return Path(client.predict(handle_file(str(image)), handle_file(str(audio)), "drum", 4, STEPS, seed,
                               api_name="/animate"))


def _generate_in_page(page, timeout: float = 180_000) -> str:
    """Click Animate and wait for a new result video; returns its source URL."""
    before = page.locator("#result-video video").get_attribute("src") if page.locator(
        "#result-video video").count() else None
    page.get_by_role("button", name="Animate").click()
    page.wait_for_function(
        "before => { const v = document.querySelector('#result-video video');"
        " return v && v.src && v.src !== before; }", arg=before, timeout=timeout)
    return page.locator("#result-video video").get_attribute("src")


def _check_mp4(path: Path, seconds: float) -> None:
    info = probe(path)
    assert info.has_video and info.has_audio
    assert info.duration == pytest.approx(seconds, abs=0.05)
    assert info.num_frames == round(seconds * 6)


def _write_huge_png(path: Path, width: int, height: int) -> None:
    """A valid all-black RGB PNG of width x height pixels, written row by row (small on disk)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + 3 * width)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row * 100) for _ in range(height // 100))
    body += packer.compress(row * (height % 100)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)


def test_page_animates_an_example_with_sound_then_survives_a_corrupt_image(page, tmp_path):
    _pick_drum_example(page)
    assert page.get_by_role("tab", name="Compare").is_visible()  # `asva compare`'s grid for these inputs
    page.get_by_label("number input for Steps", exact=False).fill(str(STEPS))
    page.get_by_label("number input for Steps", exact=False).press("Enter")
    src = _generate_in_page(page)
    assert "asva-seed0.mp4" in src
    video = tmp_path / "page.mp4"
    video.write_bytes(page.request.get(src).body())
    _check_mp4(video, DRUM_SECONDS)
    assert "asva animate --image drum.png --audio drum.wav --class drum" in page.locator("body").inner_text()
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)

    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    _upload_image(page, corrupt)
    page.get_by_role("button", name="Animate").click()
    page.get_by_text("broken.png: not a readable image").first.wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "error.png"), full_page=True)

    _pick_drum_example(page)  # the next generation works (another seed: Gradio names files by content)
    page.get_by_role("spinbutton", name="Seed", exact=True).fill("1")
    video.write_bytes(page.request.get(_generate_in_page(page)).body())
    _check_mp4(video, DRUM_SECONDS)


def test_four_clients_at_once_each_get_their_own_video(server):
    seeds = [0, 1, 2, 3]
    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(lambda s: _animate(_client(server), s), seeds))
    videos = [read_video(p, size=None) for p in paths]
    for path in paths:
        _check_mp4(path, DRUM_SECONDS)
    for i in range(4):
        for j in range(i + 1, 4):
            assert not (videos[i] == videos[j]).all(), f"seeds {seeds[i]} and {seeds[j]} gave the same video"
    # none swapped: a seed asked again, alone, gives the same video as in the crowd
    again = read_video(_animate(_client(server), seeds[2]), size=None)
    assert (again == videos[2]).all()


def test_oversized_upload_and_huge_image_are_refused_and_the_server_keeps_serving(server, page, tmp_path):
    big = tmp_path / "big.wav"
    with big.open("wb") as handle:
        handle.truncate(60 * 2**20)
    huge = tmp_path / "huge.png"
    _write_huge_png(huge, 11_500, 11_500)  # 132 MP, ~0.4 MB on disk

    page.locator("#input-audio input[type=file]").set_input_files(str(big))  # refused while uploading
    too_big = re.compile(r'exceed the maximum allowed size of 50(\.0)? ?mb: "big.wav"', re.I)
    page.get_by_text(too_big).first.wait_for(timeout=60_000)
    _pick_drum_example(page)
    _upload_image(page, huge)
    page.get_by_role("button", name="Animate").click()
    refused = "huge.png: image is 11500x11500 = 132250000 pixels, over the 40000000-pixel limit"
    page.get_by_text(refused).first.wait_for(timeout=60_000)

    with pytest.raises(Exception, match="(?i)size|413"):
        _animate(_client(server), 0, audio=big)
    with pytest.raises(Exception, match="40000000-pixel limit"):
        _animate(_client(server), 0, image=huge)
    _check_mp4(_animate(_client(server), 5), DRUM_SECONDS)  # still serving
