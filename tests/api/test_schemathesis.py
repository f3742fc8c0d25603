"""Property-based contract run: schemathesis against our own `/openapi.json`, in process.

Every operation gets generated requests (schema examples first, then positive and
negative data) with a supervisor token; every response must be documented (status,
content type, body schema, headers) and nothing may answer 5xx.

Excluded, and why:
- `GET /events` and `GET /agents/{agent_id}/offers` are SSE streams: they never end,
  so the in-process client would wait on them until its stream cut-off for every
  example and could not validate a body; `tests/api/test_e2e.py` covers them.
- `POST /agents/{agent_id}/next` long-polls for up to `wait` seconds: generated waits
  would spend the time budget sleeping without exercising anything new;
  `test_routing_api.py` covers it with `wait=0` and a real wait.

`positive_data_acceptance` also accepts 400, 412, 422 and 428: many schema-valid
requests are refused on purpose by the state they meet — an unknown queue, a stale
`If-Match`, a webhook body the provider would never send — and say so in a problem.

Provider webhooks skip `negative_data_rejection`: their schemas document what Twilio,
Meta and X send, but the channel adapters parse leniently on purpose (an unknown
`Direction`, an empty `NumMedia`, a null `time` are kept or defaulted, not refused),
because a provider does not retry a payload we reject for a field we do not route on.

The run is bounded (`MAX_EXAMPLES` per operation, no shrinking) to stay well under 60 s.
"""

from __future__ import annotations

from typing import Any

import schemathesis  # a dev dependency: if it is missing the suite must fail, not skip
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection

from router.app import create_app
from router.runtime import Runtime
from tests.api.conftest import auth
from tests.api.conftest import settings as app_settings

MAX_EXAMPLES = 12
EXCLUDED = r"^/(events|agents/\{agent_id\}/(offers|next))$"

CONFIG = SchemathesisConfig.from_dict({
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "412",
                                  "422", "428", "429"],
        },
    },
})


@schemathesis.serializer("message/rfc822")
def _rfc822(_ctx: Any, value: Any) -> dict[str, Any]:
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return {"data": data}


app = create_app(Runtime.build(app_settings()))
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG).exclude(
    path_regex=EXCLUDED
)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi(case: Any) -> None:
    lenient = case.operation.path.startswith("/webhooks/")
    case.call_and_validate(headers=auth("supervisor"),
                           excluded_checks=[negative_data_rejection] if lenient else None)
