"""Flavours: `eu` is the seed's mutation surface verbatim, `uk` adds the UK-only parts, and
`--removed` / `--date` drop fields the way an instance past a removal date has."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)

from sandbox.kraken import (
    SchemaError,
    compat_names,
    removal_dates,
    schema_sdl,
)
from sandbox.kraken.__main__ import parse
from sandbox.kraken.errors import SPECS
from sandbox.kraken.graphql_api import build_schema as build_executable_schema

from .gql import Driver, label, make, variant
from .seed import SEED_COPY, SHARED_SEED, seed_error_messages, seed_mutations

TESLA = {
    "SelectDeviceType": label("Electric vehicle or charger"),
    "SelectVehicleMake": make("Tesla"),
    "SelectVehicleVariant": variant("Model 3"),
    "SelectChargePointMake": make("No smart charger / not listed"),
}
INTROSPECT_MUTATIONS = '{ __type(name: "Mutation") { fields(includeDeprecated: true) { name } } }'


def schema(
    flavour: str, removed: tuple[str, ...] = (), date: dt.date | None = None
) -> GraphQLSchema:
    return build_schema(schema_sdl(flavour, removed, date))


def fields(s: GraphQLSchema, type_name: str) -> dict[str, GraphQLField]:
    graphql_type = s.get_type(type_name)
    assert isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType), type_name
    return dict(graphql_type.fields)


def test_the_seed_copy_is_the_shared_seed() -> None:
    if not SHARED_SEED.exists():
        pytest.skip("no ../shared/seeds next to this checkout")
    assert SEED_COPY.read_bytes() == SHARED_SEED.read_bytes()


def test_eu_serves_only_seed_mutations_with_the_seeds_signatures() -> None:
    eu, seed = schema("eu"), seed_mutations()
    served = fields(eu, "Mutation")
    assert len(served) >= 20
    assert set(served) <= set(seed), set(served) - set(seed)
    for name, field in served.items():
        documented = seed[name]
        assert str(field.type) == documented.payload, name
        assert {a: str(arg.type) for a, arg in field.args.items()} == documented.arguments, name
        assert field.deprecation_reason == documented.deprecation, name


def test_eu_payloads_carry_the_seeds_return_fields_and_their_deprecations() -> None:
    eu, seed = schema("eu"), seed_mutations()
    for name in fields(eu, "Mutation"):
        documented = seed[name]
        for member, member_field in fields(eu, documented.payload).items():
            assert member in documented.return_fields, (name, member)
            assert str(member_field.type) == documented.return_fields[member], (name, member)
            reason = documented.return_deprecations.get(member)
            assert member_field.deprecation_reason == reason, (name, member)


def test_examples_from_the_brief() -> None:
    eu = fields(schema("eu"), "Mutation")
    boost = eu["updateBoostCharge"]
    assert str(boost.args["input"].type) == "UpdateBoostChargeInput"
    trigger = eu["triggerTestCharge"]
    assert str(trigger.args["input"].type) == "AccountNumberInput"
    start_test = eu["startTestChargeForSmartFlexOnboarding"]
    assert "removal on or after 2026-07-05" in str(start_test.deprecation_reason)
    assert SPECS["KT-CT-4357"].message == "Unable to trigger boost charge."


def test_every_code_the_sandbox_shares_with_the_seed_has_the_seeds_message() -> None:
    seed = seed_error_messages()
    shared = set(SPECS) & set(seed)
    assert {"KT-CT-4355", "KT-CT-4357", "KT-CT-4362", "KT-CT-4371", "KT-CT-4378"} <= shared
    assert {code: SPECS[code].message for code in shared} == {code: seed[code] for code in shared}


def test_uk_adds_its_fields_and_keeps_everything_eu_has() -> None:
    eu, uk = schema("eu"), schema("uk")
    for name, graphql_type in eu.type_map.items():
        assert name in uk.type_map, name
        if isinstance(graphql_type, GraphQLObjectType):
            assert set(graphql_type.fields) <= set(fields(uk, name)), name
    assert "completeRetryForSmartFlexOnboarding" not in fields(eu, "Mutation")
    assert "completeRetryForSmartFlexOnboarding" in fields(uk, "Mutation")
    eu_providers, uk_providers = eu.get_type("ProviderChoices"), uk.get_type("ProviderChoices")
    assert isinstance(eu_providers, GraphQLEnumType) and isinstance(uk_providers, GraphQLEnumType)
    assert "BMW" not in eu_providers.values and "BMW" in uk_providers.values
    assert uk.get_type("OnboardingError") is not None and eu.get_type("OnboardingError") is None
    uk_test = fields(uk, "Mutation")["startTestChargeForSmartFlexOnboarding"]
    assert "removal on or after 2026-10-03" in str(uk_test.deprecation_reason)
    assert removal_dates("uk")["Mutation.startTestChargeForSmartFlexOnboarding"] == dt.date(
        2026, 10, 3
    )


def test_compat_names_are_what_eu_serves_beyond_the_sources() -> None:
    """eu serves UK-only parts the bot's documents select; without them it still builds."""
    names = compat_names()
    assert {"SmartFlexOnboardingWizard.isComplete", "TerminalError", "Retry"} <= set(names)
    strict = schema("eu", removed=names)
    assert "isComplete" not in fields(strict, "SmartFlexOnboardingWizard")
    assert strict.get_type("TerminalError") is None
    assert "smartFlexOnboardingWizard" not in fields(strict, "Query")
    assert "isComplete" in fields(schema("eu"), "SmartFlexOnboardingWizard")


@pytest.mark.parametrize("flavour", ["eu", "uk"])
def test_every_root_field_served_has_a_resolver(flavour: str) -> None:
    executable = build_executable_schema(flavour)
    for root in ("Query", "Mutation"):
        unbound = [n for n, f in fields(executable, root).items() if f.resolve is None]
        assert unbound == [], (flavour, root)


def test_removed_names_are_checked_and_cascade() -> None:
    with pytest.raises(SchemaError, match="nope"):
        schema_sdl("eu", removed=("nope",))
    with pytest.raises(SchemaError, match="completeRetryForSmartFlexOnboarding"):
        schema_sdl("eu", removed=("completeRetryForSmartFlexOnboarding",))
    with pytest.raises(SchemaError, match="flavour"):
        schema_sdl("fr")
    without_error_type = schema("eu", removed=("TestChargeError",))
    assert "error" not in fields(without_error_type, "TestCharge")
    without_payload = schema("eu", removed=("StartTestChargeForSmartFlexOnboarding",))
    assert "startTestChargeForSmartFlexOnboarding" not in fields(without_payload, "Mutation")


@pytest.mark.parametrize("flavour", ["eu", "uk"])
def test_date_drops_exactly_the_fields_past_their_removal_date(flavour: str) -> None:
    dates = removal_dates(flavour)
    assert dates["Mutation.selectDeviceTypeForSmartFlexOnboarding"] == dt.date(2026, 7, 5)
    for day in (dt.date(2026, 1, 15), dt.date(2026, 1, 16), dt.date(2026, 7, 5)):
        pruned = schema(flavour, date=day)
        for member, removal in dates.items():
            owner, _, name = member.partition(".")
            present = pruned.get_type(owner) is not None and name in fields(pruned, owner)
            assert present == (removal > day), (member, day)
    late = schema(flavour, date=dt.date(2026, 12, 31))
    assert late.get_type("PossibleErrorType") is None  # only the dropped fields used it
    assert "selectFromListForSmartFlexOnboarding" in fields(late, "Mutation")


@pytest.mark.parametrize("removed", [("startTestChargeForSmartFlexOnboarding",)])
async def test_a_removed_field_is_gone_and_the_test_charge_goes_through_trigger(
    kraken: Driver, http: httpx.AsyncClient
) -> None:
    names = {f["name"] for f in (await kraken.gql(INTROSPECT_MUTATIONS))["__type"]["fields"]}
    assert "startTestChargeForSmartFlexOnboarding" not in names and "triggerTestCharge" in names
    assert "selectDeviceTypeForSmartFlexOnboarding" in names  # other deprecated fields stay
    body = await kraken.raw(
        'mutation { startTestChargeForSmartFlexOnboarding(input: {wizardId: "1", '
        'stepId: "2"}) { wizard { id } } }'
    )
    (error,) = body["errors"]
    assert error["extensions"]["errorType"] == "VALIDATION"
    assert "Cannot query field" in error["message"]
    wizard, _ = await kraken.follow(await kraken.start(), TESLA, stop_at="TestCharge")
    started = await kraken.trigger_test_charge()
    assert started["data"]["triggerTestCharge"]["krakenflexDevice"]["provider"] == "TESLA"
    running = await kraken.read(wizard["id"])
    assert running["currentStep"]["isStarted"] is True
    await kraken.advance_clock(7 * 60)  # the test charge takes 7 minutes
    wizard, seen = await kraken.follow(await kraken.read(wizard["id"]), TESLA)
    assert wizard["isComplete"] and seen == ["WaitForTransition"]
    health = (await http.get("/sandbox/health")).json()
    assert health["removed"] == ["startTestChargeForSmartFlexOnboarding"]


@pytest.mark.parametrize(("flavour", "removal_date"), [("uk", dt.date(2026, 7, 5))])
async def test_a_date_past_the_removals_serves_the_instance_without_them(kraken: Driver) -> None:
    names = {f["name"] for f in (await kraken.gql(INTROSPECT_MUTATIONS))["__type"]["fields"]}
    assert "selectDeviceTypeForSmartFlexOnboarding" not in names
    assert "deauthenticateDevice" not in names
    # The UK keeps its startTestCharge... until 2026-10-03.
    assert "startTestChargeForSmartFlexOnboarding" in names
    gone = await kraken.gql('{ __type(name: "PossibleErrorType") { name } }')
    assert gone["__type"] is None
    legacy = await kraken.raw(
        'mutation { selectDeviceTypeForSmartFlexOnboarding(input: {wizardId: "1", '
        'stepId: "2", selectedOption: "HEAT_PUMPS"}) { wizard { id } } }'
    )
    assert legacy["errors"][0]["extensions"]["errorType"] == "VALIDATION"


def test_cli_flags() -> None:
    _, config = parse(
        [
            "--flavour",
            "uk",
            "--removed",
            "triggerTestCharge, TestCharge.status",
            "--date",
            "2026-07-05",
        ]
    )
    assert (config.flavour, config.removed, config.removal_date) == (
        "uk",
        ("triggerTestCharge", "TestCharge.status"),
        dt.date(2026, 7, 5),
    )
    _, default = parse([])
    assert (default.flavour, default.removed, default.removal_date) == ("eu", (), None)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--flavour", "fr"], "invalid choice: 'fr'"),
        (["--date", "5 July"], "not a date"),
        (["--removed", "noSuchField"], "noSuchField"),
        (["--removed", "completeRetryForSmartFlexOnboarding"], "not a Query or Mutation field"),
        (["--removed", "TestCharge.nope"], "no such field"),
    ],
)
def test_bad_cli_flags_exit_2_and_say_why(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse(argv)
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_the_module_entry_point_refuses_a_bad_flavour() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sandbox.kraken", "--flavour", "xx"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "--flavour" in done.stderr
