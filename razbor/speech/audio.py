"""Checking an uploaded recording before anything is stored or queued."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path


class AudioRejected(ValueError):
    """The upload is not usable audio; `status` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# FFmpeg's name of each container the web app accepts -> the type it is stored and served as,
# and the suffix of the stored file. The type comes from the decoded content, never from the
# type the client declared: a declared text/html served back would run in the app's origin.
ACCEPTED_CONTAINERS = {
    "wav": ("audio/wav", ".wav"),
    "matroska,webm": ("audio/webm", ".webm"),
    "ogg": ("audio/ogg", ".ogg"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("audio/mp4", ".m4a"),
    "mp3": ("audio/mpeg", ".mp3"),
    "flac": ("audio/flac", ".flac"),
}
AUDIO_TYPES = frozenset(mime for mime, _ in ACCEPTED_CONTAINERS.values())


@dataclass(frozen=True)
class AudioInfo:
    duration: float
    codec: str
    container: str

    def accepted_type(self) -> tuple[str, str]:
        """The media type and file suffix to keep this upload under; 415 for other containers."""
        if self.container not in ACCEPTED_CONTAINERS:
            raise AudioRejected(f"{self.container} files are not accepted; send WAV, WebM, Ogg, "
                                "MP4/M4A, MP3 or FLAC", 415)
        return ACCEPTED_CONTAINERS[self.container]


def probe(path: Path, max_seconds: float) -> AudioInfo:
    """Open the file with FFmpeg (PyAV) and check it holds decodable audio within the limit."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as error:
        # FFmpeg's reason, not its message: that names the server's file.
        reason = error.strerror if isinstance(error, av.error.FFmpegError) else "not decodable"
        raise AudioRejected(f"not an audio file: {reason}", 415) from error
    with container:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise AudioRejected("the file has no audio stream", 415)
        stream = streams[0]
        if stream.codec_context is None or not stream.codec_context.name:
            raise AudioRejected("unsupported audio codec", 415)
        duration = _duration(container, stream, max_seconds)
    if duration <= 0.05:
        raise AudioRejected("the recording is empty")
    if duration == math.inf:
        raise AudioRejected(f"the recording is longer than the limit of {max_seconds:.0f} s",
                            413)
    if duration > max_seconds:
        raise AudioRejected(f"the recording is {duration:.0f} s long; the limit is "
                            f"{max_seconds:.0f} s", 413)
    return AudioInfo(round(duration, 2), stream.codec_context.name, container.format.name)


def _duration(container, stream, max_seconds: float) -> float:
    """The stated duration, or the decoded one; infinity once decoding passes max_seconds: a
    recording over the limit is refused as soon as that is known, not after all of it."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    # Browser WebM from MediaRecorder often states no duration: decode to measure it.
    seconds = 0.0
    try:
        for frame in container.decode(stream):
            seconds = max(seconds, float(frame.time or 0) + frame.samples / frame.sample_rate)
            if seconds > max_seconds:
                return math.inf
    except Exception as error:  # a broken stream is a bad upload, not a server error
        raise AudioRejected(f"the audio cannot be decoded: {error}", 415) from error
    return seconds
