"""What Twilio's Voice and Messaging webhooks share: the form body and its signature."""

from __future__ import annotations

from channels.adapter import AdapterBase
from channels.request import InboundRequest, parse_form_pairs
from channels.settings import ChannelSettings
from channels.signatures import require_match, require_secret, twilio_signature

SIGNATURE_HEADER = "X-Twilio-Signature"

#: Form fields lifted into first-class Interaction fields; the rest go to attributes.
_ROUTING_ATTRIBUTES = {
    "CallerName": "caller_name",
    "FromCountry": "from_country",
    "FromState": "from_state",
    "FromCity": "from_city",
    "FromZip": "from_zip",
    "ToCountry": "to_country",
    "AccountSid": "account_sid",
    "ForwardedFrom": "forwarded_from",
    "StirVerstat": "stir_verstat",
    "Digits": "ivr_digits",
    "SpeechResult": "speech_result",
    "Confidence": "speech_confidence",
}


def verify_twilio(channel: str, auth_token: str, request: InboundRequest) -> None:
    """Twilio signs the exact URL it called plus the POST parameters."""
    secret = require_secret(channel, auth_token, "twilio_auth_token")
    pairs = parse_form_pairs(request.body) if request.method == "POST" else []
    expected = twilio_signature(secret, request.url, pairs)
    require_match(channel, SIGNATURE_HEADER, request.header(SIGNATURE_HEADER), expected)


def twilio_attributes(form: dict[str, str], consumed: frozenset[str]) -> dict[str, str]:
    """Every field not already turned into an Interaction field, under readable names.

    Known ones get snake_case names rules can use (`ivr_digits`, `from_country`);
    unknown ones keep Twilio's name so nothing the provider sent is lost.
    """
    attributes: dict[str, str] = {}
    for key, value in form.items():
        if key in consumed or not value:
            continue
        attributes[_ROUTING_ATTRIBUTES.get(key, key)] = value
    return attributes


class TwilioFormAdapter(AdapterBase):
    """What the Twilio voice and messaging adapters share: one auth token, one scheme."""

    def __init__(self, settings: ChannelSettings) -> None:
        super().__init__(settings, settings.verify_twilio)

    def _check_signature(self, request: InboundRequest) -> None:
        verify_twilio(self.name, self.settings.twilio_auth_token.get_secret_value(), request)
