"""Key templates: every builder round-trips through its parser; only keys.py joins keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from truss.data import keys


def sample_values(template: keys.KeyTemplate) -> tuple[str, ...]:
    values = [f"{name}-01HZX" for name in template.parts]
    if template.open_last and values:
        values[-1] = "subject#with#hashes"
    return tuple(values)


@pytest.mark.parametrize("template", keys.ALL_TEMPLATES, ids=lambda t: t.prefix + str(t.parts))
def test_every_template_round_trips(template: keys.KeyTemplate) -> None:
    values = sample_values(template)
    assert template.parse(template.build(*values)) == values


@pytest.mark.parametrize("template", keys.ALL_TEMPLATES, ids=lambda t: t.prefix + str(t.parts))
def test_parser_refuses_a_key_of_another_template(template: keys.KeyTemplate) -> None:
    with pytest.raises(keys.KeyError_):
        template.parse("NOT_A_PREFIX#x")


def test_a_part_containing_the_separator_is_refused() -> None:
    with pytest.raises(keys.KeyError_):
        keys.CREATOR.build("a#b")
    with pytest.raises(keys.KeyError_):
        keys.ASSET.build("")


def test_entity_builders_match_the_design_table() -> None:
    assert keys.creator_profile("c1") == {"PK": "CREATOR#c1", "SK": "METADATA"}
    assert keys.email_owner(" Ann@Example.COM ") == {"PK": "EMAIL#ann@example.com", "SK": "CREATOR"}
    assert keys.identity_owner("google", "123") == {"PK": "IDENTITY#google#123", "SK": "CREATOR"}
    assert keys.asset("c1", "a1") == {"PK": "CREATOR#c1", "SK": "ASSET#a1"}
    assert keys.asset_chapters("c1", "a1")["SK"] == "ASSET#a1#CHAPTERS"
    assert keys.asset_status_index("c1", "ready", "2026") == {
        "GSI1PK": "CREATOR#c1",
        "GSI1SK": "ASSET#ready#2026",
    }
    assert keys.clip("c1", "k1")["SK"] == "CLIP#k1"
    assert keys.analytics_daily("c1", "2026-11-24")["SK"] == "ANALYTICS#DAILY#2026-11-24"
    assert keys.share("tok") == {"PK": "SHARE#tok", "SK": "CLIP"}
    assert keys.chat_spike("c1", "s1", 12.34)["SK"] == "LIVE_CHAT_SPIKE#s1#0000123"
    assert keys.chat_spike_prefix("s1") == "LIVE_CHAT_SPIKE#s1#"
    assert keys.stream("c1", "s1")["SK"] == "STREAM#s1"
    assert keys.asset_stream_link("c1", "a1")["SK"] == "ASSET#a1#STREAM"
    assert keys.platform_token("c1", "youtube")["SK"] == "PLATFORM_TOKEN#youtube"


def test_spike_keys_sort_in_time_order() -> None:
    offsets = [0.0, 9.9, 10.0, 99.5, 3600.0, 86400.7]
    sks = [keys.chat_spike("c1", "s1", offset)["SK"] for offset in offsets]
    assert sks == sorted(sks)
    assert keys.CHAT_SPIKE.parse(sks[-1]) == ("s1", "0864007")


def test_magic_link_key_holds_only_the_hash_of_the_token() -> None:
    token = "raw-secret-token"
    key = keys.magic_link(token)
    assert token not in key["PK"]
    assert key["PK"] == "MAGIC#" + keys.token_sha256(token)


KEY_JOIN = re.compile(r"""(f["'][A-Z_]{3,}#\{)|(["'][A-Z_]{3,}#["']\s*\+)|(["']#["']\.join)""")


def test_no_other_module_joins_keys() -> None:
    package = Path(__file__).resolve().parents[2] / "truss"
    offenders = [
        f"{path.relative_to(package)}:{n}"
        for path in package.rglob("*.py")
        if path.name != "keys.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if KEY_JOIN.search(line)
    ]
    assert offenders == []
