"""The Gradio page of `asva demo` and its HTTP API (`/animate`); `serve` builds and launches both."""
from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from asva.demo.config import DemoConfig
from asva.demo.engine import Engine, Request, load_pipeline
from asva.demo.examples import Example, render_examples
from asva.demo.methods import METHODS

INTRO = """# asva: audio-synchronized visual animation
Give an image and a sound; the model animates the image in time with the sound (AVSyncD, ECCV 2024).
Pick an example below, or bring your own. The video lasts as long as the sound."""
# No web fonts: the page must not make the visitor's browser fetch anything from the internet.
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])


class CheckedImage(gr.Image):
    """gr.Image whose unreadable uploads become a message in the page instead of a server error.
    (Gradio opens the file with PIL before our function runs; a corrupt file would fail there.)"""

    is_template = True  # the browser side stays Gradio's own Image

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as err:  # noqa: BLE001 - whatever PIL raises for a broken file
            name = Path(getattr(payload, "orig_name", None) or "the image").name
            raise gr.Error(f"{name}: not a readable image ({type(err).__name__})", print_exception=False) \
                from None


def run(engine: Engine, request: Request, progress: gr.Progress):
    """engine.generate, with bad input turned into the page's error message."""
    progress(0, desc="checking the inputs")
    try:
        return engine.generate(request)
    except ValueError as err:
        raise gr.Error(str(err), print_exception=False) from None


def _prompt_input(engine: Engine):
    """A dropdown of the model's classes, editable when it also has a text encoder; free text only
    when it has no class table."""
    if engine.classes:
        return gr.Dropdown(engine.classes, value=engine.classes[0], allow_custom_value=engine.free_text,
                           label="Class" + (" or prompt" if engine.free_text else ""))
    return gr.Textbox(label="Prompt", placeholder="what makes the sound, e.g. 'dog barking'")


def _example_rows(examples: list[Example], engine: Engine) -> list[list[str]]:
    """[image, audio, class] rows; a class the model does not know becomes its first class."""
    known = engine.classes
    return [[str(e.image), str(e.audio), e.prompt if not known or e.prompt in known else known[0]]
            for e in examples]


def build_app(engine: Engine, examples: list[Example], config: DemoConfig) -> gr.Blocks:
    from asva.pipelines.schedulers import scheduler_names

    limits = config.limits
    with gr.Blocks(title="asva demo", delete_cache=(600, int(config.keep_seconds))) as app:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column():
                image = CheckedImage(label="Image", type="filepath", sources=["upload", "clipboard", "webcam"],
                                     elem_id="input-image")
                audio = gr.Audio(label="Sound", type="filepath", sources=["upload", "microphone"], format=None,
                                 elem_id="input-audio")
                prompt = _prompt_input(engine)
                method = gr.Dropdown(list(METHODS), value="AVSyncD", label="Method")
                with gr.Accordion("Sampling", open=True):
                    eta = gr.Slider(0, 10, value=4, step=0.5, label="eta: audio guidance (1 = none; default 4)")
                    steps = gr.Slider(1, limits.max_steps, value=25, step=1, label="Steps (default 25)")
                    own = [engine.sampler] if engine.sampler not in scheduler_names() else []
                    sampler = gr.Dropdown(own + scheduler_names(), value=engine.sampler,
                                          label="Sampler (default: the model's own)")
                    with gr.Row():
                        seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                        dice = gr.Button("Random seed", size="sm")
                    fps = gr.Slider(1, 30, value=6, step=1, label="Frames per second (model runs at 6)")
                go = gr.Button("Animate", variant="primary")
            with gr.Column():
                video = gr.Video(label="Result (with sound)", interactive=False, elem_id="result-video")
                files = gr.File(label="Download", file_count="multiple", interactive=False)
                gif = gr.Image(label="GIF", type="filepath", interactive=False)
                params = gr.JSON(label="Parameters used")
                command = gr.Code(label="The same from the command line", language="shell", interactive=False, lines=2,
                                  max_lines=4, wrap_lines=True, buttons=["copy"])
        gr.Examples(_example_rows(examples, engine), inputs=[image, audio, prompt],
                    label="Examples (synthetic, one per class)", examples_per_page=len(examples))
        api_prompt = gr.Textbox(visible=False)
        api_video = gr.File(visible=False)
        api_button = gr.Button(visible=False)

        def animate_page(img, aud, text, meth, e, n, samp, s, f, progress=gr.Progress(track_tqdm=True)):
            request = Request(img, aud, text or "", meth, float(e), int(n), samp, int(s or 0), float(f))
            result = run(engine, request, progress)
            return (str(result.video), [str(result.video), str(result.gif)], str(result.gif),
                    result.params, result.command)

        def animate_api(img, aud, text, e, n, s, progress=gr.Progress(track_tqdm=True)):
            """Animate `image` with `audio`: class or prompt, eta, steps, seed -> the mp4 (with the sound)."""
            return str(run(engine, Request(img, aud, text or "", "AVSyncD", float(e), n, None, s), progress).video)

        dice.click(lambda: random.randrange(2**31), outputs=seed, api_visibility="private", queue=False)
        go.click(animate_page, [image, audio, prompt, method, eta, steps, sampler, seed, fps],
                 [video, files, gif, params, command], api_visibility="private")
        api_button.click(animate_api, [image, audio, api_prompt, eta, steps, seed], api_video, api_name="animate")
    return app


def serve(config: DemoConfig) -> None:
    """Load the model, render the examples, build the page and serve it until interrupted."""
    workdir = Path(config.workdir) if config.workdir else Path(tempfile.mkdtemp(prefix="asva-demo-"))
    try:
        pipe, size = load_pipeline(config.model, config.device, config.dtype)
        examples = render_examples(workdir / "examples")
        roots = [Path(gr.utils.get_upload_folder()), workdir / "examples"]
        engine = Engine(pipe, size, config.model, config.limits, workdir / "outputs", roots,
                        keep_seconds=config.keep_seconds)
        app = build_app(engine, examples, config)
        app.queue(default_concurrency_limit=config.concurrency)
        app.launch(server_name=config.host, server_port=config.port, share=False, theme=THEME,
                   max_file_size=config.limits.max_upload_bytes, allowed_paths=[str(workdir)],
                   footer_links=["api"], quiet=False)
    finally:
        if config.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
