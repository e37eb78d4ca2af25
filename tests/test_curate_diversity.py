"""Diversity selection (s1 Section 2.2, Algorithm 1) and MSC domain parsing, with fixed seeds.

The statistical checks run many seeded draws and allow four standard errors, so they are exact
repeats, not flaky, and would still catch a wrong weighting (2^-rank vs uniform, domains vs
records) by a wide margin.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from s1kit.curate.diversity import diverse_sample, diversity, select
from s1kit.curate.msc import MSC_CODES, parse_domain
from s1kit.errors import S1kitError


def pool(sizes: dict[str, int]) -> list[dict]:
    """Records per domain, trace lengths descending within a domain: ``i`` is the rank."""
    return [{"domain": domain, "i": i, "trace_tokens": 10_000 - i}
            for domain, n in sizes.items() for i in range(n)]


def within(count: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def test_domains_are_drawn_uniformly_not_records():
    records = pool({"big": 1000, "mid": 100, "small": 10})
    counts = Counter()
    seeds = 300
    for seed in range(seeds):
        # 10 picks never empty "small" before the last pick, so every draw sees three domains.
        counts.update(record["domain"] for record in diverse_sample(records, 10, seed))
    assert all(within(counts[domain], 10 * seeds, 1 / 3) for domain in ("big", "mid", "small"))


def test_an_exhausted_domain_leaves_the_draw():
    records = pool({"big": 1000, "mid": 100, "small": 10})
    counts = Counter()
    for seed in range(100):
        picked = diverse_sample(records, 60, seed)
        assert len(picked) == 60 and len({id(record) for record in picked}) == 60
        counts.update(record["domain"] for record in picked)
    # "small" gives out after 10, so the other two share the remaining ~40 picks per run equally.
    assert counts["small"] == 100 * 10
    assert abs(counts["big"] - counts["mid"]) <= 4 * math.sqrt(100 * 50)


def test_the_whole_pool_can_be_taken():
    records = pool({"a": 7, "b": 3})
    assert sorted(map(id, diverse_sample(records, 10, seed=0))) == sorted(map(id, records))


def test_ranks_are_picked_with_weight_two_to_the_minus_rank():
    records = pool({"only": 5})
    draws = 4000
    ranks = Counter(diverse_sample(records, 1, seed)[0]["i"] for seed in range(draws))
    total = sum(2.0 ** -r for r in range(5))
    for rank in range(5):
        assert within(ranks[rank], draws, 2.0 ** -rank / total), (rank, ranks)


def test_rank_follows_length_not_position():
    records = [{"domain": "d", "trace_tokens": n} for n in (10, 500, 40, 500)]
    top = Counter(id(diverse_sample(records, 1, seed)[0]) for seed in range(2000))
    # 500 twice: the earlier one is rank 0 (p = 8/15), the later rank 1 (4/15), then 40, then 10.
    for record, p in zip([records[1], records[3], records[2], records[0]], [8, 4, 2, 1]):
        assert within(top[id(record)], 2000, p / 15)


def test_a_deep_domain_draws_quickly_and_still_favours_the_longest():
    records = pool({"a": 25_000, "b": 25_000})
    picked = diverse_sample(records, 1000, seed=3)
    assert len(picked) == 1000
    # Each domain's picks are mostly its top ranks: after k picks from a domain, ranks stay near k.
    assert max(record["i"] for record in picked) < 700


def test_same_seed_same_selection_other_seeds_differ():
    records = pool({"a": 50, "b": 30, "c": 20})
    chosen = [[record["domain"] + str(record["i"]) for record in diverse_sample(records, 20, seed)]
              for seed in range(6)]
    assert chosen[0] == [record["domain"] + str(record["i"])
                         for record in diverse_sample(records, 20, 0)]
    assert len({tuple(selection) for selection in chosen}) == 6


def test_selection_does_not_depend_on_record_order():
    records = pool({"a": 20, "b": 20})
    reordered = sorted(records, key=lambda record: record["domain"] != "b")
    assert diverse_sample(records, 10, 5) == diverse_sample(reordered, 10, 5)


@pytest.mark.parametrize("how", ["diverse", "longest", "random"])
def test_first_records_lead_and_count_toward_size(how):
    records = pool({"a": 40, "b": 40})
    first = [records[7], {"domain": "x", "trace_tokens": 1, "benchmark": True}]
    picked = select(records, 10, 0, how, first=first)
    assert len(picked) == 10
    assert picked[:2] == first
    assert len({id(record) for record in picked}) == 10  # records[7] is not drawn a second time


def test_more_first_records_than_size_is_an_error():
    with pytest.raises(S1kitError, match=r"size \(1\).*3 records kept first.*at least 3"):
        diverse_sample(pool({"a": 5}), 1, 0, first=pool({"b": 3}))


def test_random_preset_is_a_seeded_uniform_sample():
    records = pool({"a": 10, "b": 10})
    picked = select(records, 5, 1, "random")
    assert len({id(record) for record in picked}) == 5 and all(r in records for r in picked)
    assert picked == select(records, 5, 1, "random")
    hits = Counter(id(record) for seed in range(2000)
                   for record in select(records, 5, seed, "random"))
    # Uniform: every record is picked with probability 5/20, whatever its length or domain.
    assert all(within(hits[id(record)], 2000, 0.25) for record in records)


def test_all_preset_keeps_every_record_in_the_seeded_random_order():
    records = pool({"a": 10, "b": 6})
    first = [records[3]]
    for size in (1, 16, 500):  # size is not used
        picked = select(records, size, 4, "all", first=first)
        assert picked[0] is records[3] and sorted(map(id, picked)) == sorted(map(id, records))
        assert picked == select(records, 16, 4, "random", first=first)
    assert select(records, 1, 4, "all") != select(records, 1, 5, "all")


def test_longest_preset_takes_the_longest_traces_ties_by_position():
    records = [{"domain": "d", "trace_tokens": n, "i": i}
               for i, n in enumerate([5, 90, 30, 90, 70, 10])]
    assert [r["i"] for r in select(records, 3, 0, "longest")] == [1, 3, 4]
    assert select(records, 3, 0, "longest") == select(records, 3, 99, "longest")


def test_stage_result_drops_the_rest_as_not_selected():
    records = pool({"a": 30, "b": 12})
    result = diversity(records, 15, seed=2)
    assert result.name == "diversity"
    assert result.counts() == {"kept": 15, "dropped": 27, "reasons": {"not selected": 27}}
    seen = [id(r) for r in result.kept] + [id(r) for r, _ in result.dropped]
    assert sorted(seen) == sorted(map(id, records))


@pytest.mark.parametrize("how", ["diverse", "longest", "random"])
def test_size_beyond_the_pool_names_the_count(how):
    with pytest.raises(S1kitError, match=r"size \(50\) exceeds the 42 records.*lower --size"):
        select(pool({"a": 30, "b": 12}), 50, 0, how)


@pytest.mark.parametrize("kwargs, message", [
    ({"how": "stratified"}, r"unknown selection 'stratified'; choose from diverse, longest, rand"),
    ({"size": -1}, r"size must be .* got -1"),
    ({"records": [{"domain": "a", "trace_tokens": None}]}, r"record 0 has trace_tokens=None"),
    ({"records": [{"trace_tokens": 3}]}, r"record 0 has no 'domain'; classify domains first"),
])
def test_bad_input_says_what_to_fix(kwargs, message):
    arguments = {"records": pool({"a": 3}), "size": 1, "seed": 0, "how": "diverse"} | kwargs
    with pytest.raises(S1kitError, match=message):
        select(**arguments)


def test_other_fields_can_hold_domain_and_length():
    records = [{"msc": "11", "tokens": 4}, {"msc": "05", "tokens": 9}]
    picked = select(records, 2, 0, "diverse", length_field="tokens", domain_field="msc")
    assert sorted(r["msc"] for r in picked) == ["05", "11"]


def test_msc2020_has_its_63_top_level_classes():
    assert len(MSC_CODES) == 63
    assert all(len(code) == 2 and code.isdigit() for code in MSC_CODES)
    assert list(MSC_CODES) == sorted(MSC_CODES)
    assert MSC_CODES["11"] == "Number theory"
    assert MSC_CODES["60"] == "Probability theory and stochastic processes"
    assert {"02", "04", "07", "10", "21", "50", "59", "99"}.isdisjoint(MSC_CODES)


@pytest.mark.parametrize("reply, code", [
    ("11 Number theory", "11"),
    ("Domain: 05", "05"),
    ("**26**", "26"),
    ("(35) Partial differential equations", "35"),
    ("Domain:05.", "05"),
    ("The question belongs to 60 - Probability theory and stochastic processes", "60"),
    ("26A06", "26"),  # a finer MSC code lands in its top-level class
    ("05Cxx", "05"),
    ("60-01", "60"),
    ("Number theory", "11"),  # the official name alone
    ("**Combinatorics**", "05"),
    ("Domain: 99 or maybe 11", "11"),  # the first code that exists
    ("00", "00"),
    ("99", None),  # not an MSC2020 class
    ("04 Set theory", None),  # an older MSC class, now part of 03
    ("In 2024 the answer was 7", None),
    ("0.11", None),
    ("11.5", None),
    ("x11", None),
    ("5", None),
    ("Geometry and topology", None),
    ("", None),
])
def test_parse_domain(reply, code):
    assert parse_domain(reply) == code
