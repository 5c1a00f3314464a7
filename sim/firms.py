"""The buying firms: domestic firms per territory (ultimate consignees) and the hyperscalers' sites, with
the territory each is headquartered in (a site's hyperscaler's; a domestic firm's own)."""

from __future__ import annotations

import numpy as np
import polars as pl

from .scenario import Scenario


def buyer_counts(sc: Scenario, weights: np.ndarray) -> np.ndarray:
    """int [C]: domestic firms (ultimate consignees) per territory, 0 where the demand weight is 0. A
    territory with a data-centre count (sim/world/buyers.csv) outside the 'china' buyer group has
    max(3, round(r × count)), r = firms.buyers_per_data_centre; any other max(1, round(firms.total ×
    demand weight)) (Western directories undercount China's data centres)."""
    china = set(sc.assumptions.structure["buyers"]["china"])
    listed = sc.world.data_centres
    n = np.zeros(len(weights), np.int64)
    for c, iso in enumerate(sc.world.iso3):
        if weights[c] <= 0:
            continue
        if iso in listed and iso not in china:
            n[c] = max(3, int(round(sc.buyers_per_data_centre * listed[iso])))
        else:
            n[c] = max(1, int(round(sc.firms_total * weights[c])))
    return n


def firms(sc: Scenario, weights: np.ndarray, idx: dict[str, int]):
    """Domestic firms (buyer_counts per territory) and hyperscaler sites: per firm its territory, ultimate
    consignee, hyperscaler (-1), rank, site share, NVEU flag and headquarters territory; per territory the
    share left to domestic firms; per hyperscaler its US headquarters and UVEU flags; the firm names."""
    sites = sc.world.sites
    hs_names = list(dict.fromkeys(sites["hyperscaler"].to_list()))
    C = len(weights)
    site_share = np.zeros(C)
    for iso, s in sites.select("site_iso3", "share_of_site_demand").iter_rows():
        site_share[idx[iso]] += s
    country, parent, hs, rank, sshare, names = [], [], [], [], [], []
    iso3 = sc.world.iso3
    for c, n in enumerate(buyer_counts(sc, weights)):
        for r in range(1, n + 1):
            f = len(country)
            country.append(c)
            parent.append(f)
            hs.append(-1)
            rank.append(r)
            sshare.append(0.0)
            names.append(f"{iso3[c]}#{r}")
    head: dict[str, int] = {}
    for h_name, site, share in sites.select("hyperscaler", "site_iso3", "share_of_site_demand").iter_rows():
        f = len(country)
        head.setdefault(h_name, f)
        country.append(idx[site])
        parent.append(head[h_name])
        hs.append(hs_names.index(h_name))
        rank.append(0)
        sshare.append(share)
        names.append(f"{h_name}@{site}")
    hq_of = dict(sites.select("hyperscaler", "hq_iso3").iter_rows())
    hq = [c if h < 0 else idx[hq_of[hs_names[h]]] for c, h in zip(country, hs)]
    hq_us = np.array([sites.filter(pl.col("hyperscaler") == h)["hq_iso3"][0] == "USA" for h in hs_names], np.uint8)
    uveu = np.array([h in sc.uveu for h in hs_names], np.uint8)
    nveu = np.zeros(len(country), np.uint8)
    for iso in sc.nveu:  # the territory's largest domestic firm holds NVEU status
        c = idx[iso]
        for f in range(len(country)):
            if country[f] == c and rank[f] == 1:
                nveu[f] = 1
    return (
        np.array(country, np.int32),
        np.array(parent, np.int32),
        np.array(hs, np.int32),
        np.array(rank, np.int32),
        np.array(sshare),
        nveu,
        1.0 - site_share,
        hq_us,
        uveu,
        names,
        np.array(hq, np.int32),
    )
