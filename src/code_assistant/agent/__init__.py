"""The agent: personas, the tool-calling loop, and tool-call recovery for small models."""
