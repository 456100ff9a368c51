"""What one area announces so that the areas above it can do their part.

Areas stack (auth and mail at the bottom, then mentors, search, introductions,
mentorships, admin), and a lower area never imports a higher one. When a change
below must cause work above (a paused profile declines its waiting requests; a
deleted account withdraws the requests it sent), the lower area sends one of
these signals and the higher area connects a receiver beside its own rules.

Receivers run inside the sender's transaction: they change the session and
flush, never commit, exactly like the service that sent the signal. A broken
rule in a receiver propagates to the sender's caller, which rolls everything
back together.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A mentor stopped taking requests (paused, suspended, or left the register).
#: Sent by register.mentors.services with the MentorProfile and `explanation`,
#: the words the waiting mentees are given ("they have paused their profile ...").
mentor_unavailable = _signals.signal("mentor-unavailable")

#: A person is deleting their account. Sent by register.auth.services with the
#: User before their name and address are erased, so receivers can still tell
#: the people waiting on them.
account_leaving = _signals.signal("account-leaving")
