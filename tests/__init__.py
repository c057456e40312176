"""Tests of code-assistant: real files, real subprocesses and a scripted model server."""
