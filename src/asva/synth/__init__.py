"""asva.synth: a procedurally generated audio-visual benchmark with known synchrony (docs/synth.md).

Modules: `classes` (the sounding objects: look, response, sound), `draw` and `sound` (primitives),
`scene` (`make_clip`: one clip in memory), `generate` (`SynthConfig`, `generate`: a dataset on
disk); the command is `asva.commands.synth`. The oracle score that uses the ground truth is
`asva.metrics.oracle`.
"""
