"""Speech: transcribing a spoken attempt on the user's machine, and how it was delivered.

faster-whisper is optional (`pip install 'razbor[speech]'`); everything here imports it lazily,
so the trainer runs without it and says how to enable speech.
"""

from razbor.speech.transcript import SpeechUnavailable, Transcript, Word

__all__ = ["SpeechUnavailable", "Transcript", "Word"]
