"""Sessions: transcripts in SQLite, compaction of old turns, and project memory."""
