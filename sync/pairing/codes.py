"""Pairing codes: a number and three words, like ``7-orbit-candle-harbor``.

A person reads the code aloud to their partner, so it must be short, hard to mishear and
forgiving to type: lower-case, a number (the *nameplate*, which only tells the two devices
where to meet) and three words from a fixed list of short, distinct English words (the
secret). The whole code is the SPAKE2 password, so a wrong word fails the key exchange and
gives an attacker exactly one guess out of about 27 million.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from comentor.sync.errors import PairingError
from comentor.sync.keys import MAX_NAMEPLATE
from comentor.sync.relay.wire import MAX_NAMEPLATE as MAX_RELAY_NAMEPLATE

__all__ = [
    "WORDS",
    "WORD_COUNT",
    "MAX_NAMEPLATE",
    "PairingCode",
    "make_code",
    "parse_code",
]

WORD_COUNT = 3
_MAX_CODE_TEXT = 100
_EXAMPLE = "7-orbit-candle-harbor"

# Sorted, distinct, 3 to 8 letters, easy to say; never change an existing word's spelling
# without bumping the pairing protocol version (both sides must share the list).
WORDS: tuple[str, ...] = tuple(
    """
    acorn actor adobe alarm album alpine amber anchor angle ankle apple apron arcade arrow
    atlas attic autumn avenue bacon badge bagel bakery ball bamboo banana banjo barley
    basket beach beaver bedrock berry bicycle bishop blanket blossom boat bonfire border
    bottle bracket branch bread breeze brick bridge broccoli bronze brook bubble bucket
    buffalo butter button cabin cactus camel camera canal candle canoe canyon captain
    carbon carpet carrot castle cedar celery cello cement chalk cherry chess chimney
    cinema circus citrus clover cobalt cocoa coffee comet copper coral cotton cougar
    cousin coyote cradle crayon cricket crystal cupcake curtain cycle daisy dancer delta
    denim desert diamond dinner doctor dolphin domino donkey dragon drum eagle echo elbow
    elephant ember engine falcon feather fennel ferry fiddle finch flannel flute forest
    fossil fountain fox galaxy garden garlic gecko ginger giraffe glacier goblet gopher
    granite grape gravel guitar hammer harbor harvest hazel helmet hermit hickory hollow
    honey horizon hotel husky igloo island ivory jacket jaguar jasmine jelly jigsaw jungle
    kayak kettle kitten koala ladder lagoon lantern laser lemon lentil lettuce library
    lily lizard lobster locket lotus lumber magnet mango maple marble meadow melon mermaid
    metro mitten monkey mosaic muffin museum mustard napkin nectar noodle nutmeg oasis
    ocean olive onion orbit orchard otter oyster paddle panda paper parrot pasta peanut
    pebble pelican pencil pepper piano pickle pigeon pilot pizza planet plaza pocket polka
    pony popcorn potato pretzel puffin pumpkin puzzle quarry quartz rabbit radar radio
    raisin ranger raven ribbon river robin rocket saddle salmon sandal satin scarf seagull
    shadow sheriff shovel silver sketch sleigh socket spider spinach sponge squirrel
    stadium stamp station sugar summer sunset swan tablet tango teapot tennis thistle
    thunder ticket tiger timber toast tomato topaz tractor trumpet tulip tunnel turtle
    tuxedo umbrella unicorn valley velvet violin volcano waffle wagon walnut walrus
    whistle willow window winter wizard yogurt zebra zipper
    """.split()
)
_WORD_SET = frozenset(WORDS)


@dataclass(frozen=True)
class PairingCode:
    """A parsed code: the nameplate (rendezvous number) and the secret words."""

    nameplate: int
    words: tuple[str, ...]

    def __str__(self) -> str:
        return "-".join([str(self.nameplate), *self.words])

    @property
    def password(self) -> bytes:
        """The SPAKE2 password: the canonical text of the whole code."""
        return str(self).encode("ascii")


def make_code(nameplate: int | None = None) -> PairingCode:
    """A fresh random code; the words come from the OS's cryptographic random source."""
    if nameplate is None:
        nameplate = secrets.randbelow(MAX_NAMEPLATE) + 1
    if not 1 <= nameplate <= MAX_NAMEPLATE:
        raise PairingError(f"the code number must be between 1 and {MAX_NAMEPLATE}")
    return PairingCode(nameplate, tuple(secrets.choice(WORDS) for _ in range(WORD_COUNT)))


def parse_code(text: str) -> PairingCode:
    """Read a code as typed: any case, hyphens or spaces between the parts.

    Raises :class:`PairingError` with a message that says what is wrong and what a code
    looks like.
    """
    if not isinstance(text, str) or len(text) > _MAX_CODE_TEXT:
        raise PairingError(f"that is not a pairing code: a code looks like {_EXAMPLE}")
    parts = [p for p in re.split(r"[\s\-]+", text.strip().lower()) if p]
    if len(parts) != WORD_COUNT + 1:
        raise PairingError(
            f"a pairing code is a number and {WORD_COUNT} words, like {_EXAMPLE}"
        )
    number, words = parts[0], tuple(parts[1:])
    # a relay allocates longer numbers while most short ones are taken (a squatter)
    if not re.fullmatch(r"[0-9]{1,6}", number) or not 1 <= int(number) <= MAX_RELAY_NAMEPLATE:
        raise PairingError(
            f"a pairing code starts with a number from 1 to {MAX_RELAY_NAMEPLATE}, like {_EXAMPLE}"
        )
    for word in words:
        if word not in _WORD_SET:
            shown = word if re.fullmatch(r"[a-z]{1,20}", word) else "one word"
            raise PairingError(
                f"'{shown}' is not a word used in pairing codes: check the spelling with your partner"
            )
    return PairingCode(int(number), words)
