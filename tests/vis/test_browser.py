"""The tour's gallery in a real browser: headless Chromium driven by Selenium.

A quick tour of the shipped ``tiny`` is opened from its folder (``file://``,
as a student opens it) and checked the way a reader sees it: every picture
loads, the console has no error, every section of the registry is there,
every picture has alt text and a caption naming its method and paper, and no
figure covers another at three window widths. A full-page screenshot is
written into the test's folder.

Needs Debian's ``chromium`` and ``chromium-driver`` packages and ``pip install
selenium``; skipped when any of them is missing (a browser that downloads
itself cannot work offline).
"""

import base64
import shutil
from pathlib import Path

import numpy as np
import pytest

from minicnn import models
from vis.registry import METHODS, SECTIONS
from vis.tour import run_tour

webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium")
from selenium.webdriver.chrome.service import Service  # noqa: E402  (after the skip)

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             "/usr/bin/chromium") if p and Path(p).is_file()), None)
CHROMEDRIVER = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver")
                     if p and Path(p).is_file()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="needs chromium and chromedriver "
                                       "(apt-get install chromium chromium-driver)")

WIDTHS = (1024, 1440, 1920)

#: page coordinates of every figure and of the picture inside it
RECTS = """
return Array.from(document.querySelectorAll('figure')).map(f => {
  const box = e => { const r = e.getBoundingClientRect();
                     return [r.left + scrollX, r.top + scrollY, r.right + scrollX,
                             r.bottom + scrollY]; };
  const img = f.querySelector('img');
  return [box(f), img ? box(img) : null, f.querySelector('figcaption') ?
          f.querySelector('figcaption').innerText : ''];
});
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """(driver, tour folder) with the quick tour's ``index.html`` open."""
    out = tmp_path_factory.mktemp("browser") / "tour"
    run_tour(models.load("tiny"), out, samples=1, n_eval=4, quick=True, progress=False)
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--force-device-scale-factor=1", "--hide-scrollbars"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_window_size(WIDTHS[0], 900)
        driver.get((out / "index.html").as_uri())
        driver.execute_async_script(              # wait until every picture has settled
            "const done = arguments[arguments.length - 1];"
            "Promise.all(Array.from(document.images).map(i => i.decode().catch(() => 0)))"
            ".then(() => done(0));")
        yield driver, out
    finally:
        driver.quit()


def test_every_picture_loads(browser):
    driver, out = browser
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, "
        "i.naturalWidth, i.naturalHeight]);")
    html = (out / "index.html").read_text(encoding="utf-8")
    assert len(images) == html.count("<img ") >= 15
    broken = [src for src, complete, w, h in images if not (complete and w > 0 and h > 0)]
    assert not broken


def test_the_console_has_no_error(browser):
    driver, _ = browser
    severe = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe


def test_every_section_of_the_registry_is_there(browser):
    driver, _ = browser
    found = dict(driver.execute_script(
        "return Array.from(document.querySelectorAll('section')).map(s => "
        "[s.id, s.querySelector('h2') ? s.querySelector('h2').innerText : '']);"))
    from vis.tour.run import QUICK_SKIPS             # the quick tour's documented skips
    expected = {k: t for k, t in SECTIONS.items() if k not in QUICK_SKIPS}
    for key, title in expected.items():
        assert found.get(key) == title, f"section {key} ({title}) missing or renamed"
    nav = driver.execute_script(
        "return Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'));")
    assert {f"#{key}" for key in expected} <= set(nav)


def test_pictures_have_alt_text_and_captions_name_method_and_paper(browser):
    driver, _ = browser
    alts = driver.execute_script("return Array.from(document.images).map(i => i.alt);")
    assert all(a.strip() for a in alts)
    captions = [caption for _, _, caption in driver.execute_script(RECTS)]
    assert len(captions) == len(alts) and all(c.strip() for c in captions)
    for m in METHODS.values():
        if m.kind != "map":
            continue
        mine = [c for c in captions if c.startswith(f"{m.title} (")]
        assert mine, f"no figure for {m.title}"
        for caption in mine:
            assert m.paper in caption, caption
            if m.name != "localize":              # its caption names the class it boxes
                assert "layer " in caption and "target " in caption, caption


@pytest.mark.parametrize("width", WIDTHS)
def test_no_figure_covers_another(browser, width):
    driver, _ = browser
    driver.set_window_size(width, 900)
    rects = driver.execute_script(RECTS)
    assert len(rects) >= 15
    overlaps = []
    for a in range(len(rects)):
        fa, img, caption = rects[a]
        assert img is not None
        assert (img[0] >= fa[0] - 1 and img[2] <= fa[2] + 1 and img[1] >= fa[1] - 1
                and img[3] <= fa[3] + 1), f"the picture spills out of its figure: {caption}"
        for b in range(a + 1, len(rects)):
            fb = rects[b][0]
            w = min(fa[2], fb[2]) - max(fa[0], fb[0])
            h = min(fa[3], fb[3]) - max(fa[1], fb[1])
            if w > 0.5 and h > 0.5:
                overlaps.append((caption[:40], rects[b][2][:40]))
    assert not overlaps
    inner, scroll = driver.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth];")
    assert scroll <= inner                          # nothing sticks out to the right


def test_full_page_screenshot(browser, tmp_path):
    from PIL import Image
    driver, _ = browser
    driver.set_window_size(WIDTHS[1], 900)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path = tmp_path / "tour.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 50_000
    with Image.open(path) as img:
        assert img.size[1] >= 2000 and abs(img.size[0] - size["width"]) <= 1
        assert np.asarray(img.convert("L")).std() > 10   # pictures, not a blank page
