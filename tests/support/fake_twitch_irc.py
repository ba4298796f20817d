"""The fake Twitch IRC server for tests (it lives in truss.local so `truss fake-twitch` can run
it)."""

from truss.local.fake_twitch_irc import DEFAULT_EMOTES, FakeTwitchIrc, emotes_tag

__all__ = ["DEFAULT_EMOTES", "FakeTwitchIrc", "emotes_tag"]
