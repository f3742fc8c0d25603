"""The `omniroute` command line: serve, rules tooling, the demo, and benchmarks."""

from __future__ import annotations

import contextlib
import importlib
import json
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from router.errors import ConfigError, OmnirouteError

if TYPE_CHECKING:
    from router.settings import Settings

app = typer.Typer(help="omniroute: omnichannel universal-queue routing.", no_args_is_help=True,
                  add_completion=False)
rules_app = typer.Typer(help="Validate and test routing rules offline.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (needs the bench/ directory of a source checkout).",
                        no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(bench_app, name="bench")
console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


# ---------------------------------------------------------------------- serve
@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (needs a shared store)")]
    = None,
    store_url: Annotated[str | None, typer.Option(help="memory:// (redis:// later)")] = None,
    config_dir: Annotated[Path | None, typer.Option(help="Config directory")] = None,
    access_log: Annotated[bool | None, typer.Option(
        "--access-log/--no-access-log", help="Log every request (default: off)")] = None,
) -> None:
    """Run the HTTP API.

    Examples:

      omniroute serve --port 8080

      OMNIROUTE_TWILIO_AUTH_TOKEN=... omniroute serve --host 0.0.0.0 --config-dir /etc/omniroute
    """
    import os

    import uvicorn

    from router.settings import Settings

    try:
        settings = Settings.load(host=host, port=port, workers=workers, store_url=store_url,
                                 config_dir=config_dir, access_log=access_log)
        if settings.workers > 1 and settings.store_url.startswith("memory://"):
            raise ConfigError("OMNIROUTE_WORKERS: more than one worker needs a shared store;"
                              " memory:// lives inside one process")
        from router.app import create_app
        application = create_app(settings)  # fail fast on config before binding
    except OmnirouteError as exc:
        raise _fail(str(exc)) from None
    if settings.workers > 1:  # pragma: no cover - needs the Redis store
        for key, value in (("CONFIG_DIR", settings.config_dir), ("STORE_URL", settings.store_url)):
            os.environ[f"OMNIROUTE_{key}"] = str(value)
        uvicorn.run("router.app:app_from_env", factory=True, workers=settings.workers,
                    **uvicorn_options(settings))
        return
    uvicorn.run(application, **uvicorn_options(settings))


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How `serve` runs uvicorn: the C event loop and HTTP parser (`uvicorn[standard]`),
    named rather than left to uvicorn's fallback so a missing one fails at startup
    instead of silently serving at a fraction of the speed."""
    return {"host": settings.host, "port": settings.port, "loop": "uvloop",
            "http": "httptools", "log_level": settings.log_level,
            "access_log": settings.access_log}


# ---------------------------------------------------------------------- rules
def _load_rules(file: Path) -> Any:
    from rules import RulesetInvalid, load_ruleset

    try:
        return load_ruleset(file)
    except RulesetInvalid as exc:
        for problem in exc.problems:
            err.print(f"{file}:{problem.line or '?'}:{problem.column or '?'}: {problem}")
        raise typer.Exit(1) from None


def _topology(config_dir: Path) -> Any:
    from router.topology import Topology

    path = config_dir / "contact-center.yaml"
    return Topology.load(path) if path.exists() else None


@rules_app.command("validate")
def rules_validate(
    file: Annotated[Path, typer.Argument(help="Ruleset YAML or JSON")],
    config_dir: Annotated[Path, typer.Option(help="For queue/skill/agent checks")]
    = Path("config"),
) -> None:
    """Validate a ruleset: every error and warning with its line and column.

    Example:  omniroute rules validate config/rules.yaml
    """
    from rules import validate_ruleset

    loaded = _load_rules(file)
    report = validate_ruleset(loaded.spec, _topology(config_dir), loaded.source)
    for problem in (*report.errors, *report.warnings):
        color = "red" if problem in report.errors else "yellow"
        console.print(f"[{color}]{problem.severity}[/{color}] {file}:{problem.line or '?'}:"
                      f"{problem.column or '?'}: {problem}")
    if not report.ok:
        raise typer.Exit(1)
    console.print(f"[green]ok[/green] {file}: {len(loaded.spec.rules)} rules, "
                  f"{len(report.warnings)} warnings")


@rules_app.command("test")
def rules_test(
    file: Annotated[Path, typer.Argument(help="Ruleset YAML or JSON")],
    interaction: Annotated[str, typer.Option(help="Interaction JSON (as POST /interactions)")],
    config_dir: Annotated[Path, typer.Option(help="Config directory")] = Path("config"),
) -> None:
    """Show which rule an interaction matches, and why earlier rules did not.

    Example:

      omniroute rules test config/rules.yaml --interaction
      '{"channel": "social", "idempotency_key": "t1", "public": true}'
    """
    from router.interaction_in import InteractionIn
    from router.runtime import normalized_inbound
    from rules import compile_ruleset

    loaded = _load_rules(file)
    try:
        data = json.loads(interaction)
        data["channel"] = _channel(data.get("channel", "")).value
        data.setdefault("idempotency_key", "cli-test")
        item = normalized_inbound(InteractionIn.model_validate(data), time.time(), "US")
        compiled = compile_ruleset(loaded.spec, _topology(config_dir), loaded.source)
    except (ValueError, TypeError, OmnirouteError) as exc:
        raise _fail(f"--interaction: {exc}") from None
    customer = _customer(config_dir, data.get("customer_id"))
    explanation = compiled.explain(item.interaction, customer, time.time())
    table = Table("rule", "outcome", "detail")
    for trace in explanation.trace:
        table.add_row(trace.rule, trace.outcome.value, trace.detail)
    console.print(table)
    plan = explanation.classification.plan
    console.print(f"→ [bold]{explanation.classification.rule}[/bold]: queue={plan.queue} "
                  f"priority={plan.priority} skills="
                  f"{ {s.skill: s.min_proficiency for s in plan.skills} }")


def _channel(value: str) -> Any:
    from router.interaction import Channel

    return Channel(value)


def _customer(config_dir: Path, customer_id: str | None) -> Any:
    from channels import InMemoryCustomerDirectory

    path = config_dir / "customers.yaml"
    directory = InMemoryCustomerDirectory.from_yaml(path) if path.exists() else None
    if directory is None:
        from router.customer import unknown_customer
        return unknown_customer(customer_id or "anonymous")
    return directory.profile(customer_id or "anonymous")


# ---------------------------------------------------------------------- bench
def _bench(module: str, args: list[str]) -> None:
    root = Path.cwd()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        target = importlib.import_module(f"bench.{module}")
    except ImportError as exc:
        raise _fail(f"bench.{module} is not importable ({exc}); run from a source checkout"
                    " that has the bench/ directory") from None
    main = getattr(target, "main", None)
    if main is None:
        raise _fail(f"bench.{module} has no main()")
    result = main(args) if _takes_args(main) else main()
    if isinstance(result, int) and result:
        raise typer.Exit(result)


def _takes_args(function: Any) -> bool:
    import inspect

    try:
        return bool(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return False


_PASS = {"allow_extra_args": True, "ignore_unknown_options": True}


#: scenario -> help line; each becomes `omniroute bench <scenario> [its own options]`.
_BENCH_SCENARIOS = {
    "core": "Routing core throughput/latency.  Example: omniroute bench core --quick",
    "adapters": "Channel adapter parsing speed.  Example: omniroute bench adapters",
    "rules": "Rule classification speed.  Example: omniroute bench rules",
    "scaling": "Decision cost vs queued (1k→1M) and agents (100→50k)."
               "  Example: omniroute bench scaling",
    "redis": "The Redis store with 1/2/4 worker processes, raw ceiling, list baseline."
             "  Example: omniroute bench redis --quick",
    "http": "End-to-end ingest through a real uvicorn server.  Example: omniroute bench http",
    "baseline": "arq, saq and Redis lists vs omniroute (own venv)."
                "  Example: omniroute bench baseline",
    "all": "Every scenario in one run (ratios are honest).  Example: omniroute bench all --quick",
}


def _register_bench(name: str, help_line: str) -> None:
    def command(ctx: typer.Context) -> None:
        _bench(name, list(ctx.args))

    command.__doc__ = help_line
    command.__name__ = f"bench_{name}"
    bench_app.command(name, context_settings=_PASS)(command)


for _name, _help in _BENCH_SCENARIOS.items():
    _register_bench(_name, _help)


# ---------------------------------------------------------------------- simulate
@app.command()
def simulate(
    hours: Annotated[float, typer.Option(help="Simulated hours (from 00:00 Monday)")] = 24.0,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same customers")] = 7,
    rules: Annotated[Path | None, typer.Option(help="Draft ruleset to compare with"
                                                    " config/rules.yaml")] = None,
    spike: Annotated[bool, typer.Option(help="Also run 10x social arrivals 11:00-12:00")]
    = False,
    siloed: Annotated[bool, typer.Option(help="Also run siloed per-channel FIFO queues")]
    = False,
    out: Annotated[Path | None, typer.Option(help="Results directory (default"
                                                  " bench/results)")] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots")] = True,
) -> None:
    """Predict service levels: a simulated day of the example contact center.

    Drives the real routing core on virtual time with generated traffic and agents.

    Examples:

      omniroute simulate --siloed --spike

      omniroute simulate --rules draft.yaml --hours 12 --seed 3
    """
    args = ["--hours", str(hours), "--seed", str(seed)]
    if rules is not None:
        args += ["--rules", str(rules)]
    if spike:
        args.append("--spike")
    if siloed:
        args.append("--siloed")
    if out is not None:
        args += ["--out", str(out)]
    if not plots:
        args.append("--no-plots")
    _bench("simulate", args)


# ---------------------------------------------------------------------- demo
@app.command()
def demo(
    duration: Annotated[float, typer.Option(help="Seconds to run (Ctrl-C stops earlier)")]
    = 120.0,
    port: Annotated[int, typer.Option(help="API port (0: do not serve HTTP)")] = 8080,
    rate: Annotated[float, typer.Option(help="Arrivals per second across channels")] = 1.0,
    config_dir: Annotated[Path, typer.Option(help="Config directory")] = Path("config"),
    seed: Annotated[int, typer.Option(help="Random seed for the traffic")] = 7,
) -> None:
    """Run the example contact center with simulated traffic and agents.

    Starts the API on the embedded store, feeds voice, e-mail, SMS and social traffic
    through the real webhook adapters, lets the eight example agents pull and complete
    work, and shows queues and service levels live.

    Examples:

      omniroute demo --duration 60

      omniroute demo --rate 3 --port 9000
    """
    from router.demo import print_tokens, run_demo

    print_tokens(console, port)
    with contextlib.suppress(KeyboardInterrupt):
        from router.service import run

        run(run_demo(console, config_dir, duration, port, rate, random.Random(seed)))
    console.print("demo stopped")


def main() -> None:
    """Console entry point (`omniroute`)."""
    app()

