"""Learning from mistakes: correction pairs captured from sessions, few-shot examples, export."""
