"""The sounding-object classes: for each, how it looks, how it responds to an event, and its sound.

A class draws itself into the unit square of its bounding box given an activation `a` in [0, 1]
(0 = at rest, 1 = the instant of the sound event) and makes one event's sound. `Response`
describes how the activation rises and falls around each event (see `activation`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asva.synth import draw as d
from asva.synth import sound as s

WHITE = np.ones(3, np.float32)
DARK = np.array([0.06, 0.05, 0.05], np.float32)
FLASH = np.array([1.0, 0.9, 0.35], np.float32)


@dataclass(frozen=True)
class Response:
    """Activation around one event at time 0: jumps to 1, slides linearly to `end_level` over the
    event's length (`hold` seconds, or the note length for sustained classes), then decays as
    exp(-t/release). `note` = (shortest, longest) note length for sustained classes."""

    hold: float = 0.12
    release: float = 0.2
    end_level: float = 1.0
    note: tuple[float, float] | None = None

    def visible(self, length: float) -> float:
        """Seconds from onset until the activation has fallen below 5% of its end level."""
        return length + 3.0 * self.release


class SoundingClass:
    """Base: subclasses set `name`, `prompt`, `response` and implement `draw` and `sound`."""

    name: str = ""
    prompt: str = ""
    response: Response = Response()

    def style(self, rng: np.random.Generator) -> dict:
        hue = rng.random()
        return {"main": d.hsv(hue, rng.uniform(0.45, 0.85), rng.uniform(0.75, 1.0)),
                "second": d.hsv(hue + rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.8), rng.uniform(0.65, 1.0))}

    def event_length(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(*self.response.note)) if self.response.note else self.response.hold

    def draw(self, p: d.Patch, a: float, st: dict) -> None:
        raise NotImplementedError

    def sound(self, rng: np.random.Generator, sr: int, length: float) -> np.ndarray:
        raise NotImplementedError


def activation(times: np.ndarray, onsets, lengths, response: Response) -> np.ndarray:
    """Activation (len(times),) in [0, 1]: the largest of the events' responses at each time."""
    out = np.zeros(len(times), np.float32)
    for onset, length in zip(onsets, lengths, strict=True):
        tau = np.asarray(times, np.float64) - onset
        slide = 1.0 - (1.0 - response.end_level) * tau / length
        tail = response.end_level * np.exp(-(tau - length) / response.release)
        a = np.where(tau < 0, 0.0, np.where(tau < length, slide, tail))
        out = np.maximum(out, a.astype(np.float32))
    return out


class Drum(SoundingClass):
    name, prompt = "drum", "drum"

    def draw(self, p, a, st):
        u, v = d.scale(p.u, p.v, 0.5, 0.62, 0.86 + 0.14 * a)  # the whole drum pulses
        shell, head = st["main"], d.mix(st["second"], WHITE, 0.5 + 0.5 * a)
        p.fill(d.ellipse(u, v, 0.5, 0.88, 0.38, 0.09), d.mix(shell, DARK, 0.4))
        p.fill(d.rect(u, v, 0.12, 0.4, 0.88, 0.88), shell)
        for hoop in (0.46, 0.82):
            p.fill(d.rect(u, v, 0.12, hoop - 0.02, 0.88, hoop + 0.02), d.mix(shell, DARK, 0.5))
        p.fill(d.ellipse(u, v, 0.5, 0.4, 0.38, 0.1), head)

    def sound(self, rng, sr, length):
        f0 = rng.uniform(90, 150)
        modes, decays, amps = (1.0, 1.59, 2.14), (0.22, 0.12, 0.08), (1.0, 0.5, 0.3)  # a membrane
        body = s.partials(0.5, sr, f0, modes, decays, amps, glide=0.85, rng=rng)
        skin = s.noise_burst(0.5, sr, rng, 0.03, band=(None, 1500))
        return body + 0.5 * skin


class Hammer(SoundingClass):
    name, prompt = "hammer", "hammer"
    response = Response(hold=0.12, release=0.3)

    def draw(self, p, a, st):
        p.fill(d.rect(p.u, p.v, 0.5, 0.72, 0.97, 0.97), d.mix(st["second"], DARK, 0.35))  # the block
        u, v = d.rotate(p.u, p.v, 0.12, 0.6, -0.5 * (1.0 - a))  # raised at rest, down on a strike
        p.fill(d.rect(u, v, 0.1, 0.575, 0.72, 0.625), d.mix(st["main"], DARK, 0.3))  # handle
        p.fill(d.rect(u, v, 0.62, 0.46, 0.8, 0.72), d.mix(st["main"], WHITE, 0.3))  # head
        if a > 0.3:
            p.fill(d.star(p.u, p.v, 0.86, 0.72, 0.12 * a, points=6), FLASH)

    def sound(self, rng, sr, length):
        f0 = rng.uniform(1700, 2600)
        modes, decays, amps = (1.0, 1.47, 2.09, 2.56), (0.12, 0.08, 0.05, 0.04), (1.0, 0.7, 0.5, 0.3)
        ring = s.partials(0.4, sr, f0, modes, decays, amps, rng=rng)  # inharmonic: struck metal
        click = s.noise_burst(0.4, sr, rng, 0.006, band=(2000, None))
        return 0.7 * ring + 0.6 * click


class Dog(SoundingClass):
    name, prompt = "dog", "dog barking"
    response = Response(hold=0.14, release=0.15)

    def style(self, rng):
        fur = d.hsv(rng.uniform(0.03, 0.12), rng.uniform(0.3, 0.7), rng.uniform(0.6, 0.95))
        return {"main": fur, "second": d.mix(fur, WHITE, 0.5)}

    def draw(self, p, a, st):
        u, v, fur = p.u, p.v, st["main"]
        for side in (0.24, 0.76):
            p.fill(d.ellipse(u, v, side, 0.28, 0.11, 0.2), d.mix(fur, DARK, 0.45))
        p.fill(d.circle(u, v, 0.5, 0.45, 0.3), fur)
        p.fill(d.ellipse(u, v, 0.5, 0.66 + 0.06 * a, 0.17, 0.1 + 0.05 * a), st["second"])  # jaw drops
        p.fill(d.ellipse(u, v, 0.5, 0.7, 0.11, 0.012 + 0.1 * a), np.array([0.45, 0.05, 0.08], np.float32))
        p.fill(d.ellipse(u, v, 0.5, 0.58, 0.18, 0.09), st["second"])  # snout
        p.fill(d.circle(u, v, 0.5, 0.54, 0.045), DARK)
        for side in (0.38, 0.62):
            p.fill(d.circle(u, v, side, 0.38, 0.04), DARK)

    def sound(self, rng, sr, length):
        f0 = rng.uniform(380, 620)
        k = np.arange(1, 13)
        amps = np.exp(-((k * f0 - 1100.0) / 900.0) ** 2) + 0.15 / k  # a formant near 1.1 kHz
        voice = s.harmonic_tone(0.3, sr, f0, amps, glide=0.7)
        env = s.envelope(0.12, sr, attack=0.008, release=0.04, sustain=0.6, total=0.3)
        breath = s.noise_burst(0.3, sr, rng, 0.05, band=(900, 3500))
        return voice * env + 0.25 * breath


class Gun(SoundingClass):
    name, prompt = "gun", "gun shooting"
    response = Response(hold=0.12, release=0.15)

    def style(self, rng):
        metal = d.hsv(rng.random(), rng.uniform(0.0, 0.25), rng.uniform(0.55, 0.85))
        return {"main": metal, "second": d.hsv(rng.uniform(0.02, 0.1), 0.6, rng.uniform(0.45, 0.75))}

    def draw(self, p, a, st):
        u, v = p.u + 0.05 * a, p.v  # recoil to the left
        p.fill(d.polygon(u, v, [(0.12, 0.5), (0.3, 0.5), (0.25, 0.82), (0.08, 0.82)]), st["second"])
        p.fill(d.rect(u, v, 0.06, 0.34, 0.4, 0.54), st["main"])
        p.fill(d.rect(u, v, 0.06, 0.38, 0.62, 0.47), d.mix(st["main"], DARK, 0.3))  # barrel
        if a > 0:
            p.glow(d.circle(p.u, p.v, 0.78, 0.43, 0.05), FLASH, 0.06, 0.8 * a)
            p.fill(d.star(p.u, p.v, 0.78, 0.43, 0.2 * a, points=7), FLASH)
            p.fill(d.circle(p.u, p.v, 0.76, 0.43, 0.07 * a), WHITE)

    def sound(self, rng, sr, length):
        crack = s.noise_burst(0.4, sr, rng, 0.035)
        boom = s.damped_sine(0.4, sr, rng.uniform(50, 80), 0.08, glide=0.6)
        return crack + 0.6 * boom


class BouncingBall(SoundingClass):
    name, prompt = "bouncing_ball", "bouncing ball"
    response = Response(hold=0.12, release=0.3)

    def draw(self, p, a, st):
        u, v = p.u, p.v
        p.fill(d.rect(u, v, 0.0, 0.88, 1.0, 1.0), d.mix(st["second"], DARK, 0.5))  # the floor
        ru, rv = 0.16 * (1 + 0.25 * a), 0.16 * (1 - 0.25 * a)  # squashed on impact
        cv = 0.48 + (0.88 - rv - 0.48) * a  # held up at rest, on the floor at the thud
        p.fill(d.ellipse(u, v, 0.5, 0.89, 0.1 + 0.12 * a, 0.02), DARK, alpha=0.3 + 0.5 * a)  # shadow
        p.fill(d.ellipse(u, v, 0.5, cv, ru, rv), st["main"])
        p.fill(d.circle(u, v, 0.45, cv - 0.06 * (1 - 0.25 * a), 0.04), d.mix(st["main"], WHITE, 0.6))

    def sound(self, rng, sr, length):
        thud = s.damped_sine(0.3, sr, rng.uniform(55, 85), 0.06, glide=0.8)
        slap = s.noise_burst(0.3, sr, rng, 0.015, band=(None, 500))
        return thud + 0.5 * slap


class Bell(SoundingClass):
    name, prompt = "bell", "bell ringing"
    response = Response(hold=0.13, release=0.22)

    def style(self, rng):
        brass = d.hsv(rng.uniform(0.1, 0.16), rng.uniform(0.5, 0.8), rng.uniform(0.8, 1.0))
        return {"main": brass, "second": d.hsv(rng.random(), 0.3, 0.6)}

    def draw(self, p, a, st):
        p.fill(d.rect(p.u, p.v, 0.3, 0.04, 0.7, 0.09), st["second"])  # the beam it hangs from
        u, v = d.rotate(p.u, p.v, 0.5, 0.08, 0.3 * a)  # swings on a strike
        p.fill(d.rect(u, v, 0.47, 0.06, 0.53, 0.16), st["second"])
        p.fill(d.circle(u, v, 0.5, 0.7, 0.05), DARK)  # clapper
        p.fill(d.polygon(u, v, [(0.38, 0.22), (0.62, 0.22), (0.73, 0.64), (0.27, 0.64)]), st["main"])
        p.fill(d.circle(u, v, 0.5, 0.27, 0.13), st["main"])
        p.fill(d.ellipse(u, v, 0.5, 0.64, 0.25, 0.05), d.mix(st["main"], WHITE, 0.2 + 0.6 * a))

    def sound(self, rng, sr, length):
        f0 = rng.uniform(700, 1100)
        ratios = (0.5, 1.0, 1.19, 1.5, 2.0, 2.51, 2.66)
        decays = (0.8, 0.6, 0.45, 0.35, 0.3, 0.2, 0.15)
        amps = (0.5, 1.0, 0.6, 0.4, 0.5, 0.3, 0.25)
        strike = s.noise_burst(1.5, sr, rng, 0.005, band=(2500, None))
        return s.partials(1.5, sr, f0, ratios, decays, amps, rng=rng) + 0.5 * strike


class Frog(SoundingClass):
    name, prompt = "frog", "frog croaking"
    response = Response(release=0.2, end_level=0.5, note=(0.2, 0.45))

    def style(self, rng):
        skin = d.hsv(rng.uniform(0.22, 0.4), rng.uniform(0.5, 0.9), rng.uniform(0.6, 0.9))
        return {"main": skin, "second": d.hsv(rng.uniform(0.1, 0.16), 0.35, 0.95)}

    def draw(self, p, a, st):
        u, v, skin = p.u, p.v, st["main"]
        for side in (0.2, 0.8):
            p.fill(d.ellipse(u, v, side, 0.82, 0.16, 0.09), d.mix(skin, DARK, 0.25))
        p.fill(d.ellipse(u, v, 0.5, 0.66, 0.36, 0.24), skin)
        p.fill(d.ellipse(u, v, 0.5, 0.62 + 0.06 * a, 0.1 + 0.14 * a, 0.05 + 0.13 * a), st["second"])  # sac
        p.fill(d.ellipse(u, v, 0.5, 0.42, 0.3, 0.15), skin)
        p.fill(d.ellipse(u, v, 0.5, 0.5, 0.17, 0.01), d.mix(skin, DARK, 0.7))
        for side in (0.34, 0.66):
            p.fill(d.circle(u, v, side, 0.28, 0.08), skin)
            p.fill(d.circle(u, v, side, 0.27, 0.04), DARK)

    def sound(self, rng, sr, length):
        rate, carrier = rng.uniform(25, 45), rng.uniform(110, 220)
        t = np.arange(int(round(length * sr))) / sr
        pulses = 0.35 + 0.65 * (0.5 + 0.5 * np.cos(2 * np.pi * rate * t)) ** 2  # a buzz of glottal pulses
        tone = s.harmonic_tone(length, sr, carrier, (1.0, 0.9, 0.7, 0.5, 0.35, 0.2, 0.1))
        env = s.envelope(length - 0.03, sr, attack=0.01, release=0.01, sustain=0.8, total=length)
        return (tone * pulses * env).astype(np.float32)


class Trumpet(SoundingClass):
    name, prompt = "trumpet", "playing trumpet"
    response = Response(release=0.2, end_level=0.5, note=(0.3, 0.8))

    def style(self, rng):
        brass = d.hsv(rng.uniform(0.09, 0.15), rng.uniform(0.5, 0.85), rng.uniform(0.75, 0.95))
        return {"main": brass, "second": d.mix(brass, DARK, 0.35)}

    def draw(self, p, a, st):
        u, v, brass = p.u, p.v, st["main"]
        p.fill(d.rect(u, v, 0.25, 0.53, 0.55, 0.6), st["second"])  # the lower loop
        p.fill(d.rect(u, v, 0.04, 0.46, 0.62, 0.53), brass)  # the lead pipe
        for x in (0.3, 0.38, 0.46):
            p.fill(d.rect(u, v, x - 0.025, 0.34, x + 0.025, 0.47), st["second"])  # valves
        p.fill(d.polygon(u, v, [(0.6, 0.45), (0.6, 0.54), (0.84, 0.75), (0.84, 0.24)]), brass)
        glow = d.ellipse(u, v, 0.84, 0.495, 0.05, 0.26)
        p.fill(glow, d.mix(d.mix(brass, DARK, 0.2), FLASH, a))
        p.glow(glow, FLASH, 0.035, 0.8 * a)

    def sound(self, rng, sr, length):
        f0 = rng.uniform(233, 466)
        k = np.arange(1, 16)
        amps = k * np.exp(-k / rng.uniform(2.5, 4.0))  # brassy: strongest around the 3rd harmonic
        tone = s.harmonic_tone(length + 0.3, sr, f0, amps, vibrato=0.004)
        env = s.envelope(length, sr, attack=0.03, release=0.04, sustain=0.85, total=length + 0.3)
        return tone * env


CLASSES: dict[str, SoundingClass] = {
    c.name: c for c in (Drum(), Hammer(), Dog(), Gun(), BouncingBall(), Bell(), Frog(), Trumpet())
}


def get_class(name: str) -> SoundingClass:
    if name not in CLASSES:
        raise ValueError(f"unknown synth class {name!r}; expected one of {sorted(CLASSES)}")
    return CLASSES[name]
