import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from checklib import (  # noqa: F401
    attr,
    call,
    copy_with,
    expect,
    fail,
    load,
    passed,
    python,
    run,
    starter,
    workspace,
)

ws = workspace()
bank = load(ws, "bank")
account = call(attr(bank, "Account"), "lea", 50.0)
call(account.deposit, 25.0)
call(attr(account, "withdraw"), 30.0)
expect(abs(account.balance - 45.0) < 1e-9, f"balance after 50 + 25 - 30 is {account.balance!r}")
try:
    account.withdraw(100.0)
except ValueError:
    pass
except Exception as exc:
    fail(f"withdraw(100) on 45 raised {type(exc).__name__}, expected ValueError")
else:
    fail("withdraw(100) on a balance of 45 did not raise ValueError")
expect(abs(account.balance - 45.0) < 1e-9, "a refused withdrawal changed the balance")
expect(repr(account) == "Account('lea', 45.00)", f"repr changed: {account!r}")
passed()
