"""Door-drop eligibility over HTTP: checkout checks, the customer's choice, roles and the rollout timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from courier_api.demo import ROLLOUT_START
from eligibility.rollout_examples import rollout_start
from tests.conftest import AuthHeaders
from tests.factories import item, new_id, order_body

Client = AsyncTestClient[Litestar]


def day(n: int, hours: int = 12) -> str:
    return (rollout_start(ROLLOUT_START, n) + timedelta(hours=hours)).isoformat()


async def check(client: Client, auth: AuthHeaders, body: dict[str, object], at: str | None = None) -> dict:  # type: ignore[type-arg]
    payload: dict[str, object] = {"order": body}
    if at:
        payload["at"] = at
    answer = await client.post("/v1/eligibility/check", json=payload, headers=auth("service", "oms"))
    assert answer.status_code == 200, answer.text
    result: dict = answer.json()  # type: ignore[type-arg]
    return result


def codes(result: dict) -> list[str]:  # type: ignore[type-arg]
    return [reason["code"] for reason in result["reasons"]]


async def test_rollout_timeline_through_the_api(client: Client, auth: AuthHeaders) -> None:
    moscow_1500 = order_body(city="MOW", items=[item(price=150_000)])
    spb_1500 = order_body(city="SPB", items=[item(price=150_000)])
    kazan_25000 = order_body(city="KZN", items=[item(price=2_500_000)])

    before = await check(client, auth, moscow_1500, day(-1))
    assert codes(before) == ["no_policy"]
    assert before["policyVersion"] is None

    pilot = await check(client, auth, moscow_1500, day(10))
    assert pilot["eligible"] is True
    assert pilot["policyVersion"] == 1
    assert codes(await check(client, auth, spb_1500, day(10))) == ["city_not_in_rollout"]
    assert (await check(client, auth, spb_1500, day(31)))["eligible"] is True
    assert codes(await check(client, auth, kazan_25000, day(31))) == ["city_not_in_rollout"]
    country = await check(client, auth, kazan_25000, day(52))
    assert country["eligible"] is True
    assert country["policyVersion"] == 3


async def test_every_failing_rule_is_listed_with_messages(client: Client, auth: AuthHeaders) -> None:
    body = order_body(
        delivery_method="pickup_point",
        payment="cash_on_delivery",
        items=[
            item(sku="VAPE", category="e_cigarettes", price=100_000),
            item(sku="CARD", attributes=["digital"], price=100_000),
            item(sku="SOFA", dimensions=(2000, 900, 800), weight_g=40_000, price=100_000),
        ],
        locale="en",
    )
    result = await check(client, auth, body)
    assert result["eligible"] is False
    found = set(codes(result))
    assert {
        "not_courier_delivery",
        "not_prepaid",
        "excluded_category",
        "excluded_attribute",
        "item_too_large",
        "item_too_heavy",
        "order_too_heavy",
    } <= found
    for reason in result["reasons"]:
        assert reason["message"] == reason["messages"]["en"]
        assert reason["messages"]["ru"]
        assert reason["messages"]["en"]
    too_large = next(r for r in result["reasons"] if r["code"] == "item_too_large")
    assert too_large["sku"] == "SOFA"


async def test_value_cap_boundary(client: Client, auth: AuthHeaders) -> None:
    at_cap = order_body(city="MOW", items=[item(price=100_000, quantity=2)])
    over = order_body(city="MOW", items=[item(price=100_001, quantity=2)])
    assert (await check(client, auth, at_cap, day(10)))["eligible"] is True
    refused = await check(client, auth, over, day(10))
    assert codes(refused) == ["over_value_cap"]
    assert refused["reasons"][0]["limit"] == 200_000
    assert refused["reasons"][0]["actual"] == 200_002


async def test_customer_opts_in_and_out_and_decisions_are_kept(client: Client, auth: AuthHeaders) -> None:
    order_id = new_id()
    await client.put(
        f"/v1/orders/{order_id}", json=order_body(customer_id="cust-a"), headers=auth("service", "oms")
    )
    await client.put(
        f"/v1/orders/{order_id}/courier", json={"courierId": "cour-a"}, headers=auth("service", "oms")
    )
    url = f"/v1/orders/{order_id}/door-drop"

    initial = await client.get(url, headers=auth("customer", "cust-a"))
    assert initial.status_code == 200
    assert initial.json()["enabled"] is False
    assert initial.json()["decision"]["eligible"] is True

    on = await client.put(url, json={"enabled": True}, headers=auth("customer", "cust-a"))
    assert on.status_code == 200, on.text
    assert on.json()["active"] is True
    seen_by_courier = await client.get(url, headers=auth("courier", "cour-a"))
    assert seen_by_courier.json()["active"] is True

    # The upstream system changes the order: now it holds fresh food in Kazan (excluded there).
    changed = order_body(customer_id="cust-a", city="KZN", items=[item(attributes=["fresh"])])
    await client.put(f"/v1/orders/{order_id}", json=changed, headers=auth("service", "oms"))
    # The courier learns that it is no longer active, never why (that is the customer's business).
    courier_sees = (await client.get(url, headers=auth("courier", "cour-a"))).json()
    assert courier_sees == {"orderId": order_id, "active": False}
    now_seen = (await client.get(url, headers=auth("customer", "cust-a"))).json()
    assert now_seen["enabled"] is True
    assert now_seen["active"] is False
    assert [r["code"] for r in now_seen["decision"]["reasons"]] == ["excluded_attribute"]

    off = await client.put(url, json={"enabled": False}, headers=auth("service", "oms"))
    assert off.status_code == 200
    assert off.json()["enabled"] is False


async def test_opting_in_when_not_eligible_is_refused_with_reasons(client: Client, auth: AuthHeaders) -> None:
    order_id = new_id()
    body = order_body(customer_id="cust-b", payment="card_on_delivery")
    await client.put(f"/v1/orders/{order_id}", json=body, headers=auth("service", "oms"))
    refused = await client.put(
        f"/v1/orders/{order_id}/door-drop", json={"enabled": True}, headers=auth("customer", "cust-b")
    )
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "door_drop.not_eligible"
    assert [r["code"] for r in problem["reasons"]] == ["not_prepaid"]
    assert problem["policyVersion"] >= 1
    state = await client.get(f"/v1/orders/{order_id}/door-drop", headers=auth("customer", "cust-b"))
    assert state.json()["enabled"] is False


async def test_object_level_access_to_door_drop(client: Client, auth: AuthHeaders) -> None:
    order_id = new_id()
    await client.put(
        f"/v1/orders/{order_id}", json=order_body(customer_id="cust-c"), headers=auth("service", "oms")
    )
    await client.put(
        f"/v1/orders/{order_id}/courier", json={"courierId": "cour-c"}, headers=auth("service", "oms")
    )
    url = f"/v1/orders/{order_id}/door-drop"
    assert (await client.get(url, headers=auth("customer", "someone-else"))).status_code == 404
    assert (await client.get(url, headers=auth("courier", "other-courier"))).status_code == 404
    assert (await client.get(url, headers=auth("support", "s1"))).status_code == 200
    assert (await client.get(url, headers=auth("admin", "a1"))).status_code == 403
    put_by_courier = await client.put(url, json={"enabled": True}, headers=auth("courier", "cour-c"))
    assert put_by_courier.status_code == 403
    foreign = await client.put(url, json={"enabled": True}, headers=auth("customer", "someone-else"))
    assert foreign.status_code == 404


async def test_admin_publishes_lists_and_reads_policy_in_force(client: Client, auth: AuthHeaders) -> None:
    admin = auth("admin", "admin-7")
    listing = await client.get("/v1/admin/door-drop-policies", headers=admin)
    assert listing.status_code == 200
    assert [v["version"] for v in listing.json()][:5] == [1, 2, 3, 4, 5]
    assert listing.json()[0]["createdBy"] == "seed"

    future = listing.json()[-1]["policy"] | {"effectiveFrom": "2100-01-01T00:00:00Z", "note": "far future"}
    published = await client.post("/v1/admin/door-drop-policies", json=future, headers=admin)
    assert published.status_code == 201, published.text
    assert published.json()["createdBy"] == "admin-7"
    version = published.json()["version"]

    in_force_2101 = await client.get(
        "/v1/admin/door-drop-policies/in-force", params={"at": "2101-01-01T00:00:00Z"}, headers=admin
    )
    assert in_force_2101.json()["version"] == version
    in_force_pilot = await client.get(
        "/v1/admin/door-drop-policies/in-force", params={"at": day(3)}, headers=admin
    )
    assert in_force_pilot.json()["version"] == 1
    before_all = await client.get(
        "/v1/admin/door-drop-policies/in-force", params={"at": day(-5)}, headers=admin
    )
    assert before_all.status_code == 404
    assert before_all.json()["code"] == "policy.not_found"


async def test_invalid_policy_documents_are_refused(client: Client, auth: AuthHeaders) -> None:
    admin = auth("admin", "admin-7")
    base = (await client.get("/v1/admin/door-drop-policies", headers=admin)).json()[0]["policy"]
    bad = [
        base | {"effectiveFrom": "2100-01-01T00:00:00"},  # no timezone
        base | {"cities": {}},
        base | {"cities": {"moscow": {"capKopecks": 1}}},
        base | {"cities": {"MOW": {"capKopecks": -1}}},
        base | {"maxItemWeightG": 0},
        base | {"excludedCategory": ["typo"]},
    ]
    for document in bad:
        answer = await client.post("/v1/admin/door-drop-policies", json=document, headers=admin)
        assert answer.status_code in (400, 422), document
        assert answer.json()["code"] in ("request.invalid", "policy.invalid")
    assert (
        await client.post("/v1/admin/door-drop-policies", json=base, headers=auth("support", "s"))
    ).status_code == 403


async def test_what_if_compares_draft_with_policy_then(client: Client, auth: AuthHeaders) -> None:
    admin = auth("admin", "admin-7")
    marker_city = "YKT"  # a city no other test uses, so the counts are ours
    for price in (100_000, 2_000_000, 4_000_000):
        body = order_body(city=marker_city, items=[item(price=price)])
        await client.put(f"/v1/orders/{new_id()}", json=body, headers=auth("service", "oms"))
    draft = (await client.get("/v1/admin/door-drop-policies", headers=admin)).json()[-1]["policy"]
    draft = draft | {"cities": {"*": {"capKopecks": 1_000_000}}}
    now = datetime.now(UTC)
    window = {
        "createdFrom": (now - timedelta(days=1)).isoformat(),
        "createdTo": (now + timedelta(days=1)).isoformat(),
    }
    answer = await client.post(
        "/v1/admin/door-drop-policies/what-if",
        json={"draft": draft, **window},
        headers=admin,
    )
    assert answer.status_code == 200, answer.text
    city = next(c for c in answer.json()["cities"] if c["city"] == marker_city)
    assert city["orders"] == 3
    assert city["eligibleInForce"] == 3  # 50,000 RUB cap in force now
    assert city["eligibleUnderDraft"] == 1
    assert city["refusalsUnderDraft"] == {"over_value_cap": 2}
    bad_range = await client.post(
        "/v1/admin/door-drop-policies/what-if",
        json={"draft": draft, "createdFrom": "2026-02-01T00:00:00Z", "createdTo": "2026-01-01T00:00:00Z"},
        headers=admin,
    )
    assert bad_range.status_code == 422
    assert bad_range.json()["code"] == "what_if.bad_range"
