"""Fakes served over real loopback sockets: the scripted model server (see model_server.py)."""
