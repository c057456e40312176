"""The machine's GGUF store for the embedded backend: a catalogue, list/add/rm/path, pull."""
