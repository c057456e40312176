"""The interactive session (`ca`). session: the Repl (routing, turns, approvals) and
start_repl; commands: the slash-command table; pins, project, peer, session_commands, work:
the command groups; io: input; render: output; checks: checks made before a model call.

Nothing is re-exported here: `ca -q` imports repl.render alone, without the whole session."""
