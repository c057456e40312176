"""The real-model task suite runner: tasks, counting proxy, runners, scoring, report."""
