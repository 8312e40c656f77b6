"""asva.demo: the `asva demo` web page and HTTP API (Gradio, the `demo` extra).

    config.py    DemoConfig and Limits (upload size, audio length, image pixels, file lifetime)
    inputs.py    checking uploaded files against the limits (no Gradio): clear ValueErrors
    examples.py  the clickable examples: one synthetic clip per class, rendered at start
    engine.py    the loaded methods and one generation: Request -> mp4, GIF, parameters, equivalent CLI
                 command; and the Compare tab's grid (asva compare's library code)
    methods.py   the methods the page offers (AVSyncD and the available baselines), loaded once each
    app.py       the Gradio Blocks page and its `/animate` API endpoint; `serve` launches it

Only `app.py` imports gradio; the rest is plain asva and is tested without a server.
"""
from asva.demo.config import DemoConfig, Limits

__all__ = ["DemoConfig", "Limits"]
