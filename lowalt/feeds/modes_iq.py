"""Mode S extended squitters as a radio front end hands them to a receiver program: interleaved 8-bit
unsigned I/Q (``UC8``, dump1090's ``--iformat`` default).

Mode S downlink is pulse-position modulated on 1090 MHz (ICAO Annex 10 Vol IV 3.1.2.2): an 8 us
preamble of four 0.5 us pulses (at 0, 1.0, 3.5 and 4.5 us), then one bit per microsecond - a pulse in
the first half is a 1, in the second half a 0 - 112 bits for a DF17. The pulses are drawn at 24 MHz (12
points per half microsecond) and each sample is their mean over its interval, as the ADC after an
anti-alias filter sees them, at a random carrier phase (an SDR tuned to 1090 MHz) plus Gaussian
receiver noise, around the unsigned centre 127.5.

**Sample rate**: Debian's ``dump1090-mutability`` 1.15 demodulates **2.4 MS/s only** (its 2.4 MHz
demodulator; there is no sample-rate option): the same squitters at 2 MS/s give 0 decoded frames on
this machine (``tests/feeds/test_dump1090_iq.py`` shows both). 2 MS/s is kept for receivers that
want it (readsb/dump1090-fa at 2 MHz). ``pad_to`` fills a chunk with noise up to a whole number of
dump1090's 131,072-sample buffers: dump1090 demodulates a buffer only once it is full, so a short
write would sit unread (and the last ~55 ms of a file is lost without it).

Used by the dump1090 I/Q test: the whole chain after the antenna (demodulation, CRC, CPR) runs in the
real receiver program. (PyPI ``adsb-generator`` has a transmitter too, but its CPR position encoder
is wrong - docs/reference/components.md - and these lines need no more than numpy.)
"""

from __future__ import annotations

import numpy as np

CHIP_RATE = 2_000_000
"""Half microseconds per second: the PPM chip rate."""
FINE_RATE = 24_000_000
"""Rate the pulses are drawn at before averaging down to the sample rate (both 2 and 2.4 MS/s divide it)."""
SAMPLE_RATE = 2_400_000
"""What dump1090-mutability reads."""
DUMP1090_BUFFER = 131_072
"""Samples per dump1090 demodulation buffer."""
PREAMBLE = np.array([1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0], dtype=np.float64)


def envelope(hexmsg: str) -> np.ndarray:
    """Pulse envelope (0/1 per half microsecond) of one Mode S message: preamble then PPM bits."""
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(hexmsg), dtype=np.uint8)).astype(np.float64)
    return np.concatenate([PREAMBLE, np.stack([bits, 1.0 - bits], axis=1).ravel()])


def uc8(hexmsgs: list[str], *, sample_rate: int = SAMPLE_RATE, gap_s: float = 1e-3, lead_s: float = 1e-3,
        pad_to: int = 1, amplitude: float = 60.0, noise: float = 2.0, seed: int = 0) -> bytes:
    """Interleaved I/Q bytes (I, Q, I, Q, ...) of ``hexmsgs`` one after the other: ``lead_s`` of noise,
    then each message followed by ``gap_s`` of noise, then noise up to a multiple of ``pad_to`` samples.
    ``amplitude`` and ``noise`` are in ADC counts (full scale 127.5)."""
    if FINE_RATE % sample_rate:
        raise ValueError(f"sample_rate must divide {FINE_RATE} Hz, got {sample_rate}")
    rng = np.random.default_rng(seed)
    chip, k = FINE_RATE // CHIP_RATE, FINE_RATE // sample_rate
    gap = np.zeros(round(gap_s * FINE_RATE))
    parts = [np.zeros(round(lead_s * FINE_RATE))]
    for m in hexmsgs:
        parts += [np.repeat(envelope(m), chip), gap]
    fine = np.concatenate(parts)
    n = -(-fine.size // k)  # samples, rounded up
    n = -(-n // pad_to) * pad_to
    fine = np.concatenate([fine, np.zeros(n * k - fine.size)])
    env = fine.reshape(n, k).mean(axis=1) * amplitude
    phase = rng.uniform(0.0, 2.0 * np.pi)
    i = 127.5 + env * np.cos(phase) + rng.normal(0.0, noise, n)
    q = 127.5 + env * np.sin(phase) + rng.normal(0.0, noise, n)
    return bytes(np.clip(np.rint(np.stack([i, q], axis=1).ravel()), 0, 255).astype(np.uint8))
