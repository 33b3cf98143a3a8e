"""The catalogue lookups: order, dates, case, defaults, HSA tree, legacy addresses."""

from datetime import date

from mockplatform.tak import Authorisation, Route, RouteOutcome, Tak

C = "urn:riv:test:DoItResponder:1"
TODAY = date(2026, 6, 1)


def tak(routes=(), auths=(), parents=None, climb=True) -> Tak:
    return Tak(routes, auths, parents, climb)


def test_exact_route_is_found_case_insensitively():
    t = tak([Route(C, "SE123-ABC", "http://p")])
    decision = t.route(C.upper(), "se123-abc", TODAY)
    assert decision.outcome is RouteOutcome.FOUND
    assert decision.route.address == "http://p"
    assert decision.trace == ["se123-abc"]


def test_validity_dates_are_inclusive_and_expired_rows_are_ignored():
    t = tak([
        Route(C, "A", "http://old", valid_from=date(2020, 1, 1), valid_to=date(2026, 5, 31)),
        Route(C, "A", "http://new", valid_from=date(2026, 6, 1), valid_to=date(2026, 6, 1)),
    ])
    assert t.route(C, "A", TODAY).route.address == "http://new"
    assert t.route(C, "A", date(2026, 5, 31)).route.address == "http://old"
    assert t.route(C, "A", date(2026, 6, 2)).outcome is RouteOutcome.NOT_FOUND


def test_two_valid_routes_are_ambiguous():
    t = tak([Route(C, "A", "http://1"), Route(C, "A", "http://2", profile="RIVTABP20")])
    assert t.route(C, "A", TODAY).outcome is RouteOutcome.AMBIGUOUS


def test_route_without_address():
    assert tak([Route(C, "A", "")]).route(C, "A", TODAY).outcome is RouteOutcome.NO_ADDRESS


def test_routing_climbs_the_hsa_tree_before_the_default():
    t = tak(
        [Route(C, "PARENT", "http://parent"), Route(C, "*", "http://default"), Route(C, "SE", "http://root")],
        parents={"CHILD": "PARENT", "PARENT": "SE"},
    )
    d = t.route(C, "child", TODAY)
    assert d.route.address == "http://parent"
    assert d.trace == ["child", "(parent)PARENT"]
    # an unknown id has parent SE: the national catch-all comes before the default
    d = t.route(C, "UNKNOWN", TODAY)
    assert d.route.address == "http://root"
    assert d.trace == ["UNKNOWN", "SE"]


def test_default_route_when_nothing_else_and_no_climb():
    t = tak([Route(C, "*", "http://default"), Route(C, "SE", "http://root")], climb=False)
    d = t.route(C, "X", TODAY)
    assert d.route.address == "http://default"
    assert d.trace == ["X", "(default)*"]


def test_authorisation_tries_the_default_before_the_hsa_tree():
    t = tak(auths=[Authorisation("CONS", C, "*"), Authorisation("CONS", C, "PARENT")], parents={"CHILD": "PARENT"})
    d = t.authorise("cons", C, "CHILD", TODAY)
    assert d.allowed
    assert d.authorisation.logical_address == "*"
    assert d.trace == ["CHILD", "(default)*"]


def test_authorisation_by_hsa_parent_and_root():
    t = tak(auths=[Authorisation("CONS", C, "SE")], parents={"CHILD": "PARENT"})
    d = t.authorise("CONS", C, "CHILD", TODAY)
    assert d.allowed
    assert d.trace == ["CHILD", "(default)*", "(parent)PARENT", "SE"]


def test_authorisation_denied_for_other_consumer_or_expired():
    t = tak(auths=[Authorisation("CONS", C, "A", valid_to=date(2026, 5, 31))])
    assert not t.authorise("OTHER", C, "A", date(2026, 5, 1)).allowed
    assert not t.authorise("CONS", C, "A", TODAY).allowed
    assert t.authorise("CONS", C, "A", date(2026, 5, 31)).allowed


def test_legacy_hash_address_tries_last_part_then_first_without_fallback():
    t = tak([Route(C, "VG", "http://vg"), Route(C, "*", "http://default")])
    d = t.route(C, "VG#VE", TODAY)
    assert d.route.address == "http://vg"
    assert d.trace == ["VE", "VG"]
    assert tak([Route(C, "*", "http://default")]).route(C, "VG#VE", TODAY).outcome is RouteOutcome.NOT_FOUND


def test_parent_table_cycle_stops_at_root():
    t = tak(parents={"A": "B", "B": "A"})
    assert t.parents("A")[-1] == "SE"
