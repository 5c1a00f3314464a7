#!/usr/bin/env python3
"""Regenerate ``sim/world/countries.csv`` and ``sim/world/country_groups.csv``.

This is a *build* script. The simulator never imports it; it only reads the two
CSV files that this script writes. Re-running it with the pinned packages below
reproduces both files byte for byte (no clock, no randomness, sorted output).

Packages (install into a throwaway venv, NOT the project venv):

    python3 -m venv /tmp/cvenv
    /tmp/cvenv/bin/pip install pycountry==26.2.16 pypopulation==2020.3 dbfread==2.0.7
    /tmp/cvenv/bin/pip install --no-deps geopandas==0.14.4 country_converter==1.3.2

``geopandas`` and ``country_converter`` are installed with ``--no-deps`` and are
never imported: only the data files inside them are read
(``geopandas/datasets/naturalearth_lowres/naturalearth_lowres.dbf``, the Natural
Earth v5 1:110m admin-0 table that geopandas <= 0.14 ships, and
``country_converter/country_data.tsv``).

Run from the repository root:

    /tmp/cvenv/bin/python sim/world/build/build_countries.py

Inputs and what each provides
-----------------------------
* pycountry 26.2.16: the 249 ISO 3166-1 territories (alpha-3, alpha-2, name).
* country_converter 1.3.2 ``country_data.tsv``: ``Continent_7`` (-> ``region``)
  and ``UNregion`` (used only to map countries onto IEA regions).
* Natural Earth v5 ``naturalearth_lowres`` (geopandas 0.14.4): ``gdp_md_est``
  (US$ million; World Bank 2019 for most countries) and ``pop_est``.
* pypopulation 2020.3: population (World Bank 2019).
* Hand-typed tables below (each with its citation): GDP for territories that
  Natural Earth lacks, Epoch AI GPU-cluster H100e by country, IEA data-centre
  electricity by region, diversion-risk priors, and EAR Country Group
  memberships (Supp. No. 1 to 15 CFR Part 740 as in force in January 2025,
  plus the dated Federal Register amendments in ``DATED``).

Demand weight (column ``demand_weight``)
----------------------------------------
For every territory i with a GDP figure:

    w_i = ( g_i + c_i + e_i ) / 3

    g_i = GDP_i / sum(GDP)                                    (economic size)
    c_i = H100e_i / sum(H100e)                                (Epoch AI: known
          existing AI-cluster H100-equivalents, 15 countries; 0 elsewhere)
    e_i = (TWh_R / sum(TWh)) * GDP_i / sum_{j in R} GDP_j     (IEA 2024 data-
          centre electricity of i's IEA region R, split within R by GDP)

Territories without GDP get w_i = 0. Each of g, c, e sums to 1, so w sums to 1
(the printed values are rounded to 12 decimals and the rounding residual is put
on the largest row so the column sums to exactly 1). With these inputs the US
gets ~0.49 and China ~0.18, inside the design targets (US 0.45-0.55, CN
0.15-0.20). The equal 1/3 weights are a modelling choice, not a measurement.

Diversion risk (column ``diversion_risk``)
------------------------------------------
Prior probability that a controlled accelerator shipped to the territory ends
up with Tier-3 buyers. Default 0.002. Tier-3 destinations themselves (D:5 on
2025-01-13, Macau, Hong Kong) get 0. Named transit routes get the values in
``DIVERSION`` below, each with its reason; all are <= 0.1.

Country groups (``country_groups.csv``)
---------------------------------------
One row per (iso3, group, interval). ``start`` is inclusive; ``end`` is the
first day on which the membership no longer applies (empty = still in force).
``start`` = 2000-01-01 means "membership predates the simulator's horizon".
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pycountry
import pypopulation
from dbfread import DBF

HERE = Path(__file__).resolve().parent
WORLD_DIR = HERE.parent
COUNTRIES_CSV = WORLD_DIR / "countries.csv"
GROUPS_CSV = WORLD_DIR / "country_groups.csv"

COUNTRY_COLUMNS = [
    "iso3",
    "iso2",
    "name",
    "region",
    "gdp_usd",
    "gdp_year",
    "population",
    "population_year",
    "demand_weight",
    "diversion_risk",
    "source_gdp",
    "source_population",
    "source_demand_weight",
    "source_diversion_risk",
]
GROUP_COLUMNS = ["iso3", "group", "start", "end", "source"]

SRC_NE = (
    "Natural Earth v5 ne_110m_admin_0_countries gdp_md_est x 1e6 "
    "(World Bank 2019), as shipped in geopandas 0.14.4 naturalearth_lowres"
)
SRC_NE_POP = "Natural Earth v5 pop_est (2019), geopandas 0.14.4 naturalearth_lowres"
SRC_PYPOP = "pypopulation 2020.3 (World Bank 2019)"


# ---------------------------------------------------------------------------
# Hand-typed tables
# ---------------------------------------------------------------------------

# Display-name overrides (pycountry's ISO names are kept otherwise; its
# ``common_name`` is preferred where it has one, e.g. "Taiwan", "South Korea").
NAME_OVERRIDES = {
    "RUS": "Russia",
    "MAC": "Macau",
    "COD": "Congo (Democratic Republic)",
    "COG": "Congo (Republic)",
}

# Natural Earth rows that are not ISO 3166-1 territories; they are dropped.
NE_NON_ISO = {"CYN": "N. Cyprus", "SOL": "Somaliland", "-99": "Kosovo"}

# Natural Earth GDP values that are not usable and are blanked (-> weight 0).
NE_GDP_BLANK = {
    "ATA": "no economy; Natural Earth's 898 M figure is not a GDP",
    "ATF": "no resident economy (research stations only)",
}

# Natural Earth GDP values kept but flagged (not World Bank 2019 nominal).
NE_GDP_NOTES = {
    "VEN": "; caveat: NE value is an old (pre-collapse) estimate, far above 2019 nominal GDP",
    "PRK": "; caveat: NE value (40,000 M) is a CIA PPP-style estimate, not WB",
}

# GDP (US$, 2019) for territories missing from Natural Earth, or whose Natural
# Earth value is not comparable. All are current-US$ 2019 figures typed from
# the cited public source; "approx." marks values recalled to ~2-3 significant
# figures that could not be re-checked offline (verify against
# https://data.worldbank.org/indicator/NY.GDP.MKTP.CD before relying on them).
HAND_GDP = {
    # iso3: (gdp_usd, source)
    "TWN": (
        611.4e9,
        "hand: DGBAS / IMF WEO Oct-2021 Taiwan 2019 nominal GDP ~US$611 bn (approx.); replaces Natural Earth 1,127,000 M, which is a PPP-scale figure, not nominal",
    ),
    "SGP": (
        372.06e9,
        "hand: World Bank WDI NY.GDP.MKTP.CD 2019 = 372,062,527,489 (2020 vintage, same vintage as Natural Earth v5)",
    ),
    "HKG": (363.0e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$363 bn (C&SD HK$2.84 tn / 7.84) (approx.)"),
    "MAC": (55.0e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$54-55 bn (approx.)"),
    "BHR": (38.6e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$38.6 bn (approx.)"),
    "MLT": (
        14.8e9,
        "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$14.8 bn (2020 vintage; later revised up to ~15.6 bn) (approx.)",
    ),
    "MUS": (14.0e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$14.0 bn (approx.)"),
    "MCO": (7.4e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$7.4 bn (approx.)"),
    "BMU": (7.5e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$7.5 bn (approx.)"),
    "GUM": (5.9e9, "hand: US BEA / World Bank 2019 Guam GDP ~US$5.9 bn (approx.)"),
    "MDV": (5.6e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$5.6 bn (approx.)"),
    "BRB": (5.2e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$5.2 bn (approx.)"),
    "ABW": (3.3e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$3.3 bn (approx.)"),
    "AND": (3.15e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$3.15 bn (approx.)"),
    "LCA": (2.1e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$2.1 bn (approx.)"),
    "CPV": (2.0e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$2.0 bn (approx.)"),
    "SYC": (1.7e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$1.7 bn (approx.)"),
    "ATG": (1.7e9, "hand: World Bank WDI NY.GDP.MKTP.CD 2019 ~US$1.7 bn (approx.)"),
}

# Known existing AI-cluster H100-equivalents by country: Epoch AI "GPU
# clusters" data (https://epoch.ai/data/gpu_clusters.csv, CC-BY 4.0), column
# "H100 equivalents" summed over the rows with status "Existing" per
# "Country" (786 rows, 609 existing, 37 countries; read from the public copy
# in github.com/kitwebster-art/compute-atlas, gpu_clusters.csv), rounded to
# 2 significant figures. Known clusters cover ~10-20 % of all AI-chip
# performance (Pilz et al., "Trends in AI Supercomputers", arXiv:2504.16026).
CLUSTER_H100E = {
    "USA": 1_390_000,
    "CHN": 230_000,
    "DEU": 26_000,
    "NOR": 20_000,
    "JPN": 19_000,
    "FRA": 18_000,
    "CHE": 17_000,
    "FIN": 12_000,
    "SAU": 8_400,
    "ITA": 8_200,
    "GBR": 8_000,
    "KOR": 6_600,
    "IND": 5_400,
    "ARE": 1_700,
    "SGP": 1_200,
}
SRC_CLUSTER = (
    "Epoch AI GPU clusters data, status Existing, summed by country, https://epoch.ai/data/gpu_clusters.csv, CC-BY 4.0"
)

# IEA "Energy and AI" (2025), base case, data-centre electricity in 2024 (TWh)
# by region, https://www.iea.org/reports/energy-and-ai . The regional values
# (US 183, China 102, Europe 68, Asia Pacific excl. China 48, rest of world 15)
# were transcribed from the Graphic News summary sheet of the report,
# http://46.235.172.94/Archive/arch-46500-46999/GN46940T_words_EN.txt .
IEA_DC_TWH_2024 = {
    "US": 183.0,
    "China": 102.0,
    "Europe": 68.0,
    "AsiaPacific": 48.0,
    "RestOfWorld": 15.0,
}
SRC_IEA = "IEA Energy and AI (2025) 2024 DC TWh"


def iea_region(iso3: str, continent7: str, unregion: str) -> str:
    """Map a territory onto the IEA region it is reported under.

    Approximates the IEA World Energy Outlook definitions: China includes Hong
    Kong; Europe includes Turkey and Israel but not Russia (Eurasia); Asia
    Pacific is East, South-East and South Asia plus Oceania, less China and
    Iran (Middle East); Central Asia, the Middle East, Africa and the Americas
    other than the US are "rest of world".
    """
    if iso3 == "USA":
        return "US"
    if iso3 in ("CHN", "HKG"):
        return "China"
    if iso3 in ("TUR", "ISR"):
        return "Europe"
    if continent7 == "Europe" and iso3 != "RUS":
        return "Europe"
    if iso3 != "IRN" and (
        unregion in ("Eastern Asia", "South-eastern Asia", "Southern Asia") or continent7 == "Oceania"
    ):
        return "AsiaPacific"
    return "RestOfWorld"


# ---------------------------------------------------------------------------
# EAR Country Groups (Supp. No. 1 to 15 CFR Part 740)
# ---------------------------------------------------------------------------

# Membership as of January 2025, Supplement No. 1 to 15 CFR Part 740 (eCFR,
# https://www.ecfr.gov/current/title-15/subtitle-B/chapter-VII/subchapter-C/part-740/appendix-Supplement%20No.%201%20to%20Part%20740).
# No eCFR version dated January 2025 was read: the table is the eCFR
# point-in-time text of 2026-07-23
# (https://www.ecfr.gov/api/versioner/v1/full/2026-07-23/title-15.xml?part=740,
# parsed cell by cell in the public repository
# github.com/seelpeed-debug/export-controls-agent-mcp, src/data/country-groups.json)
# with the two later Federal Register amendments in DATED rolled back
# (Cambodia out of D:5, FR Doc 2026-02262; UAE out of D:3/D:4 and into A:5,
# FR Doc 2026-14132). Any other amendment between January 2025 and July 2026
# would be missed; none was found.
GROUPS_JAN_2025 = {
    "A:5": (
        "ARG AUS AUT BEL BGR CAN HRV CZE DNK EST FIN FRA DEU GRC HUN ISL "
        "IND IRL ITA JPN KOR LVA LTU LUX NLD NZL NOR POL PRT ROU SVK SVN "
        "ESP SWE CHE TUR GBR"
    ),
    "A:6": "ALB CYP ISR MLT MEX SGP ZAF TWN",
    "D:1": ("ARM AZE BLR MMR KHM CHN GEO IRQ KAZ PRK KGZ LAO LBY MAC MDA MNG NIC RUS TJK TKM UZB VEN VNM YEM"),
    "D:3": (
        "AFG ARM AZE BHR BLR MMR CHN CUB EGY GEO IRN IRQ ISR JOR KAZ PRK "
        "KWT KGZ LBN LBY MAC MDA MNG OMN PAK QAT RUS SAU SYR TWN TJK TKM "
        "ARE UZB VEN VNM YEM"
    ),
    "D:4": ("BHR BLR CHN EGY IRN IRQ ISR JOR PRK KWT LBN LBY MAC OMN PAK QAT RUS SAU SYR ARE VEN YEM"),
    "D:5": ("AFG BLR MMR KHM CAF CHN COD CUB ERI HTI IRN IRQ PRK LBN LBY NIC RUS SOM SSD SDN SYR VEN ZWE"),
    "E:1": "IRN PRK SYR",
    "E:2": "CUB",
}
EXPECTED_GROUP_SIZES = {"A:5": 37, "A:6": 8, "D:1": 24, "D:3": 37, "D:4": 22, "D:5": 23, "E:1": 3, "E:2": 1}

HORIZON_START = "2000-01-01"
SUPP1 = (
    "Supp. No. 1 to 15 CFR Part 740 (eCFR, https://www.ecfr.gov/current/title-15/"
    "subtitle-B/chapter-VII/subchapter-C/part-740/appendix-Supplement%20No.%201%20to%20Part%20740)"
)
SRC_BASE = SUPP1 + ", state in force January 2025; start 2000-01-01 = membership predates the simulator horizon"
# Extra words for one territory's rows (appended to SRC_BASE).
SRC_BASE_EXTRA = {
    "MAC": (
        "; Macau is a destination of its own in the EAR since 64 FR 28907 (FR Doc 99-13352, 1999-05-28); "
        "it is in D:1, D:3 and D:4 but not D:5, and the advanced-computing rules name it beside D:5 "
        "(88 FR 2821, 2023-01-18; 15 CFR 742.6(b)(10), 90 FR 4544)"
    ),
}
FR_MEX_CYP = (
    "85 FR 84211 (FR Doc 2020-26552, 'Amendment to Country Groups for Ukraine, Mexico and Cyprus Under the "
    "EAR', published and effective 2020-12-28, https://www.federalregister.gov/d/2020-26552)"
)
FR_NIC = (
    "89 FR 18780 (FR Doc 2024-05696, 'Revisions to Export, Reexport, and Transfer (In-Country) Controls for "
    "Nicaragua Under the EAR', published and effective 2024-03-15, https://www.federalregister.gov/d/2024-05696)"
)
FR_UAE = (
    "91 FR 43034 (FR Doc 2026-14132, 'Enhanced Favorable Treatment for the United Arab Emirates Under the "
    "EAR', RIN 0694-AK54, effective 2026-07-10, published 2026-07-14, https://www.federalregister.gov/d/2026-14132)"
)

# Dated changes, each from its Federal Register rule. Keyed (iso3, group):
# (start, end, source). They replace the default (HORIZON_START, "", SRC_BASE)
# interval for that pair; pairs absent from GROUPS_JAN_2025 are added.
DATED = {
    ("MEX", "A:6"): (
        "2020-12-28",
        "",
        "added to A:6 by " + FR_MEX_CYP + "; still in A:6 in January 2025 per " + SUPP1,
    ),
    ("CYP", "A:6"): (
        "2020-12-28",
        "",
        "added to A:6 by " + FR_MEX_CYP + "; still in A:6 in January 2025 per " + SUPP1,
    ),
    ("CYP", "D:5"): (
        HORIZON_START,
        "2024-05-30",
        "in D:5 before the horizon (start 2000-01-01 = predates horizon); removed by 89 FR 40369 (FR Doc "
        "2024-10280, 'Conforming and Clarifying Changes to the EAR', published 2024-05-10, effective 2024-05-30, "
        "https://www.federalregister.gov/d/2024-10280), a conforming change 'to reflect that Cyprus is no "
        "longer a Country Group D:5 country'",
    ),
    ("NIC", "D:1"): ("2024-03-15", "", "moved from Country Group B to D:1 by " + FR_NIC),
    ("NIC", "D:5"): ("2024-03-15", "", "added to D:5 by " + FR_NIC),
    ("KHM", "D:5"): (
        HORIZON_START,
        "2026-02-03",
        "in D:5 since 86 FR 70015 (FR Doc 2021-26633, 2021-12-09), before the horizon (start 2000-01-01 = "
        "predates horizon); removed by FR Doc 2026-02262 ('Conforming Change to the EAR for Cambodia', RIN "
        "0694-AK41, effective 2026-02-03, https://www.federalregister.gov/d/2026-02262), which follows the "
        "State Department's removal of Cambodia from 22 CFR 126.1 (final rule published 2025-11-07); stays in D:1",
    ),
    ("ARE", "A:5"): (
        "2026-07-10",
        "",
        "added to A:5 by " + FR_UAE + "; License Exception STA only for the UAE Government and the approved "
        "entities listed in Supp. No. 8 to 15 CFR Part 740 (15 CFR 740.2(a)(26))",
    ),
    ("ARE", "D:3"): (
        HORIZON_START,
        "2026-07-10",
        "start 2000-01-01 = predates horizon; removed from D:3 by " + FR_UAE,
    ),
    ("ARE", "D:4"): (
        HORIZON_START,
        "2026-07-10",
        "start 2000-01-01 = predates horizon; removed from D:4 by " + FR_UAE,
    ),
}
HKG_SOURCE = (
    "Hong Kong takes China's entry since 85 FR 83765 (FR Doc 2020-28101, 'Removal of Hong Kong as a Separate "
    "Destination Under the EAR', published and effective 2020-12-23, https://www.federalregister.gov/d/2020-28101); "
    "this row mirrors China's row"
)
HKG_START = "2020-12-23"


def build_group_rows() -> list[dict]:
    for grp, members in GROUPS_JAN_2025.items():
        n = len(members.split())
        assert n == EXPECTED_GROUP_SIZES[grp], (grp, n)
        assert len(set(members.split())) == n, grp
    rows = []
    seen = set()
    for grp, members in GROUPS_JAN_2025.items():
        for iso3 in members.split():
            start, end, src = DATED.get((iso3, grp), (HORIZON_START, "", SRC_BASE + SRC_BASE_EXTRA.get(iso3, "")))
            rows.append({"iso3": iso3, "group": grp, "start": start, "end": end, "source": src})
            seen.add((iso3, grp))
    for (iso3, grp), (start, end, src) in DATED.items():
        if (iso3, grp) not in seen:  # memberships not in force in Jan 2025
            rows.append({"iso3": iso3, "group": grp, "start": start, "end": end, "source": src})
    # Hong Kong mirrors every China row.
    for r in [r for r in rows if r["iso3"] == "CHN"]:
        rows.append({"iso3": "HKG", "group": r["group"], "start": HKG_START, "end": r["end"], "source": HKG_SOURCE})
    rows.sort(key=lambda r: (r["iso3"], r["group"], r["start"]))
    return rows


def members_on(rows: list[dict], group: str, day: str) -> set[str]:
    return {r["iso3"] for r in rows if r["group"] == group and r["start"] <= day and (r["end"] == "" or day < r["end"])}


# ---------------------------------------------------------------------------
# Diversion-risk priors
# ---------------------------------------------------------------------------

DIVERSION_DEFAULT = 0.002
SRC_DIV_DEFAULT = "default prior 0.002 (no named diversion route); modelling assumption"
DIVERSION = {
    # iso3: (prior, reason / source)
    "USA": (
        0.002,
        "raised from 0.0005 (much diverted stock is first bought in the US): DOJ Operation Gatekeeper, at least US$160M of H100/H200 smuggled out of the US Oct 2024-May 2025 (Arnold & Porter, 15 Dec 2025, https://www.arnoldporter.com/en/perspectives/blogs/enforcement-edge/2025/12/doj-shutdown-of-major-china-linked-ai-tech-smuggling-network); SDNY Mar-2026 indictment, ~US$2.5B of Supermicro servers sold via a SE-Asian intermediary, US$510M reached China (CNN / The Register, 20 Mar 2026); judgement from the evidence above, 90 % range 0.0005-0.008",
    ),
    "MYS": (
        0.1,
        "Taiwan customs data: Malaysia imported US$6.45B of GPUs in Jan-Apr 2025, more than in all of 2024 (SemiMedia, 13 May 2025, https://www.semimedia.cc/19081.html); Singapore server-fraud case, US$390M of Dell and Supermicro servers routed to Malaysia (Singapore prosecutors in court, Reuters 13 Mar 2025, https://devdiscourse.com/article/law-order/3306150-singapore-firms-allegedly-funnel-390m-us-servers-to-malaysia); rate before Malaysia's Jul-2025 transit permit, which enforcement.guidance cuts; judgement from the evidence above, 90 % range 0.03-0.25",
    ),
    "SGP": (
        0.05,
        "lowered from 0.08: NVIDIA 10-Q Q1 FY2026, Singapore is 20 % of revenue by billing location, products 'almost always shipped elsewhere', over 99 % of controlled Data Center compute revenue billed there is for US-based customers (https://www.sec.gov/Archives/edgar/data/1045810/000104581025000116/R34.htm); Singapore fraud case, US$390M of servers, 3 charged Feb-Mar 2025 (Reuters 13 Mar 2025, https://devdiscourse.com/article/law-order/3306150-singapore-firms-allegedly-funnel-390m-us-servers-to-malaysia); judgement from the evidence above, 90 % range 0.01-0.15",
    ),
    "THA": (
        0.08,
        "raised from 0.04: FT (Jul 2025), at least US$1bn of B200 and other banned NVIDIA chips reached China in the three months after the Apr-2025 curbs, SE Asia named as the source market and Commerce weighing controls on Thailand (Reuters summary, https://media.dealstreetasia.com/stories/nvidia-ai-chips-enter-china-450453); Bloomberg (Jul 2025): draft rule restricting AI-chip exports to Malaysia and Thailand (https://www.benzinga.com/markets/asia/25/07/46266218/us-plans-to-restrict-ai-chip-exports-to-malaysia-thailand-to-curb-diversion-to-china); judgement from the evidence above, 90 % range 0.02-0.20",
    ),
    "VNM": (
        0.04,
        "D:1 licence destination since 2023-11-17 (88 FR 73458, FR Doc 2023-23055: licence for 3A090/4A090 "
        "items to D:1, D:4, D:5 less A:5/A:6; Vietnam in D:1, Supp. No. 1 to 15 CFR Part 740); SE-Asian "
        "neighbour of the documented Singapore-Malaysia and Thailand routes, no Vietnam-specific case found; "
        "judgement",
    ),
    "IDN": (
        0.03,
        "remote-access route: Shanghai start-up INF Tech rents ~2,300 GB200 (32 NVL72 racks) in an Indosat "
        "data centre in Jakarta (Wall Street Journal, Nov 2025, as reported at https://www.moneycontrol.com/"
        "world/how-a-chinese-ai-firm-tapped-nvidia-s-top-chips-via-indonesia-article-13674006.html); judgement",
    ),
    "ARE": (
        0.03,
        "lowered from 0.05: 2025 licences carry security conditions; Microsoft's Sep-2025 licences (60,400 A100-equivalents incl. GB300) required 'stringent' cyber and physical safeguards (AP / Reuters, 3 Nov 2025, https://www.thestar.com.my/tech/tech-news/2025/11/04/microsoft-to-ship-60000-nvidia-ai-chips-to-the-united-arab-emirates); G42 licensed 19 Nov 2025 for up to 35,000 GB300-equivalents with security and reporting conditions (https://www.lawyer-monthly.com/2025/11/nvidia-amd-saudi-ai-chip-export-approval); judgement from the evidence above, 90 % range 0.005-0.10",
    ),
    "SAU": (
        0.01,
        "D:4 licence destination since 2023-11-17 (88 FR 73458, FR Doc 2023-23055; Saudi Arabia in D:4, Supp. "
        "No. 1 to 15 CFR Part 740), named as newly licensed by law firms (https://www.mondaq.com/unitedstates/"
        "export-controls--trade--investment-sanctions/1383674/); judgement",
    ),
    "TWN": (
        0.02,
        "lowered from 0.03 (Taiwan's own demand is mostly legitimate): SDNY Mar-2026 indictment of a Supermicro co-founder and a Taiwan-based manager, ~US$2.5B of servers routed via Taiwan and a SE-Asian intermediary, US$510M reached China (CNN / The Register, 20 Mar 2026); judgement from the evidence above, 90 % range 0.005-0.06",
    ),
    "IND": (
        0.01,
        "low-moderate: large new Tier-2 buyer base (IndiaAI Mission: 34,333 GPUs approved by Jun 2025, "
        "https://www.electronicsforyou.biz/industry-buzz/india-installs-17300-gpus-to-build-countrys-ai-"
        "infrastructure/; >38,000 onboarded by Mar 2026, MeitY reply in the Lok Sabha 25 Mar 2026, "
        "https://pibtracker.com/article/2026-03-25/indiaai-mission-2245069); no documented diversion case "
        "found; judgement",
    ),
    "KAZ": (
        0.02,
        "D:1 licence destination (Supp. No. 1 to 15 CFR Part 740); EAEU member, named among the common "
        "transshipment points for controlled US items to Russia (Tier 3) in FinCEN/BIS Joint Alert "
        "FIN-2022-Alert003 (28 Jun 2022) and the supplemental joint alert of 19 May 2023; judgement",
    ),
    "KGZ": (
        0.02,
        "D:1 licence destination (Supp. No. 1 to 15 CFR Part 740); EAEU member, named among the common "
        "transshipment points for controlled US items to Russia (Tier 3) in FinCEN/BIS Joint Alert "
        "FIN-2022-Alert003 (28 Jun 2022) and the supplemental joint alert of 19 May 2023; judgement",
    ),
    "ARM": (
        0.02,
        "D:1 licence destination (Supp. No. 1 to 15 CFR Part 740); EAEU member, named among the common "
        "transshipment points for controlled US items to Russia (Tier 3) in FinCEN/BIS Joint Alert "
        "FIN-2022-Alert003 (28 Jun 2022) and the supplemental joint alert of 19 May 2023; judgement",
    ),
}
SRC_DIV_TIER3 = (
    "0: Tier-3 destination itself: D:5 on 2025-01-13 (Supp. No. 1 to 15 CFR Part 740), Macau (named beside D:5 in "
    "15 CFR 742.6(b)(10), 90 FR 4544) or Hong Kong (China's entry since 85 FR 83765)"
)


# ---------------------------------------------------------------------------
# Data loading
# ---------------------------------------------------------------------------


def package_dir(name: str) -> Path:
    """Directory of an installed package, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"package {name!r} not installed; see the header of {__file__}")
    return Path(list(spec.submodule_search_locations)[0])


def load_natural_earth() -> dict[str, dict]:
    dbf = package_dir("geopandas") / "datasets" / "naturalearth_lowres" / "naturalearth_lowres.dbf"
    out = {}
    for rec in DBF(str(dbf), encoding="latin-1"):  # .cpg says ISO-8859-1
        out[rec["iso_a3"]] = dict(rec)
    assert len(out) == 177, len(out)
    return out


def load_cc() -> dict[str, dict]:
    tsv = package_dir("country_converter") / "country_data.tsv"
    with tsv.open(encoding="utf-8", newline="") as f:
        return {r["ISO3"]: r for r in csv.DictReader(f, delimiter="\t")}


def fmt_decimal(x: Decimal) -> str:
    s = format(x, "f")
    return s


def main() -> None:
    ne = load_natural_earth()
    cc = load_cc()
    countries = sorted(pycountry.countries, key=lambda c: c.alpha_3)
    assert len(countries) == 249, len(countries)
    iso_set = {c.alpha_3 for c in countries}
    for req in ("TWN", "HKG", "MAC"):
        assert req in iso_set, req
    assert set(ne) - iso_set == set(NE_NON_ISO), set(ne) - iso_set
    assert "TWN" in ne, "Taiwan missing from Natural Earth"

    group_rows = build_group_rows()
    jan = "2025-01-13"
    d5_jan = members_on(group_rows, "D:5", jan)
    tier3 = d5_jan | {"MAC", "HKG"}

    recs = {}
    for c in countries:
        a3 = c.alpha_3
        r = {k: "" for k in COUNTRY_COLUMNS}
        r["iso3"], r["iso2"] = a3, c.alpha_2
        r["name"] = NAME_OVERRIDES.get(a3) or getattr(c, "common_name", None) or c.name
        r["region"] = cc[a3]["Continent_7"]
        # GDP
        gdp = None
        if a3 in HAND_GDP:
            gdp, r["source_gdp"] = HAND_GDP[a3]
        elif a3 in ne and a3 not in NE_GDP_BLANK:
            gdp = float(ne[a3]["gdp_md_est"]) * 1e6
            r["source_gdp"] = SRC_NE + NE_GDP_NOTES.get(a3, "")
        elif a3 in NE_GDP_BLANK:
            r["source_gdp"] = "none: " + NE_GDP_BLANK[a3]
        else:
            r["source_gdp"] = "none: not in Natural Earth v5; no confident 2019 figure"
        if gdp is not None and gdp > 0:
            r["gdp_usd"] = str(int(round(gdp)))
            r["gdp_year"] = "2019"
        # Population
        pop = pypopulation.get_population_a3(a3)
        if pop:
            r["population"], r["population_year"] = str(int(pop)), "2019"
            r["source_population"] = SRC_PYPOP
        elif a3 in ne and ne[a3]["pop_est"]:
            r["population"] = str(int(round(float(ne[a3]["pop_est"]))))
            r["population_year"] = "2019"
            r["source_population"] = SRC_NE_POP
        else:
            r["source_population"] = "none: not in pypopulation 2020.3 or Natural Earth v5"
        # Diversion risk
        if a3 in tier3:
            assert a3 not in DIVERSION, a3
            r["diversion_risk"], r["source_diversion_risk"] = "0", SRC_DIV_TIER3
        elif a3 in DIVERSION:
            p, why = DIVERSION[a3]
            assert 0 < p <= 0.1, (a3, p)
            r["diversion_risk"], r["source_diversion_risk"] = f"{p:g}", why
        else:
            r["diversion_risk"] = f"{DIVERSION_DEFAULT:g}"
            r["source_diversion_risk"] = SRC_DIV_DEFAULT
        recs[a3] = r

    # ---- demand weights --------------------------------------------------
    gdp = {a3: float(r["gdp_usd"]) for a3, r in recs.items() if r["gdp_usd"]}
    total_gdp = sum(gdp.values())
    region_of = {a3: iea_region(a3, cc[a3]["Continent_7"], cc[a3]["UNregion"]) for a3 in recs}
    region_gdp = {}
    for a3, g in gdp.items():
        region_gdp[region_of[a3]] = region_gdp.get(region_of[a3], 0.0) + g
    total_twh = sum(IEA_DC_TWH_2024.values())
    total_h = sum(CLUSTER_H100E.values())
    for a3 in CLUSTER_H100E:
        assert a3 in gdp, a3
    raw = {}
    parts = {}
    for a3 in recs:
        if a3 not in gdp:
            raw[a3] = 0.0
            continue
        reg = region_of[a3]
        g = gdp[a3] / total_gdp
        cl = CLUSTER_H100E.get(a3, 0) / total_h
        e = IEA_DC_TWH_2024[reg] / total_twh * gdp[a3] / region_gdp[reg]
        raw[a3] = (g + cl + e) / 3.0
        parts[a3] = (g, cl, e, reg)
    q = Decimal("1e-12")
    dec = {a3: Decimal(repr(w)).quantize(q, rounding=ROUND_HALF_EVEN) for a3, w in raw.items()}
    top = max(dec, key=lambda k: dec[k])
    dec[top] += Decimal(1) - sum(dec.values())
    assert sum(dec.values()) == Decimal(1)
    for a3, r in recs.items():
        r["demand_weight"] = "0" if dec[a3] == 0 else fmt_decimal(dec[a3])
        if a3 in parts:
            g, cl, e, reg = parts[a3]
            cl_txt = f"{cl:.4g} ({CLUSTER_H100E[a3]:,} H100e, {SRC_CLUSTER})" if a3 in CLUSTER_H100E else "0"
            r["source_demand_weight"] = (
                f"(GDP share {g:.4g} + cluster share {cl_txt} + IEA DC-TWh "
                f"share {e:.4g} [{reg} {IEA_DC_TWH_2024[reg]:g} of "
                f"{total_twh:g} TWh, {SRC_IEA}, split by GDP])/3; "
                "formula in sim/world/build/build_countries.py"
            )
        else:
            r["source_demand_weight"] = "0: no GDP figure"

    # ---- write -------------------------------------------------------------
    with COUNTRIES_CSV.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COUNTRY_COLUMNS, lineterminator="\n")
        w.writeheader()
        for a3 in sorted(recs):
            w.writerow(recs[a3])
    with GROUPS_CSV.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=GROUP_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(group_rows)

    # ---- checks --------------------------------------------------------------
    for r in group_rows:
        assert r["iso3"] in iso_set, r
        date.fromisoformat(r["start"])
        if r["end"]:
            assert r["end"] > r["start"], r
    weights = {a3: float(r["demand_weight"]) for a3, r in recs.items()}
    nonzero = sum(1 for v in weights.values() if v > 0)
    assert nonzero >= 150, nonzero
    assert 0.45 <= weights["USA"] <= 0.55, weights["USA"]
    assert 0.15 <= weights["CHN"] <= 0.20, weights["CHN"]

    def licence_set(day: str, with_hkg: bool) -> set[str]:
        d = members_on(group_rows, "D:1", day) | members_on(group_rows, "D:4", day) | members_on(group_rows, "D:5", day)
        a = members_on(group_rows, "A:5", day) | members_on(group_rows, "A:6", day)
        s = (d - a) | {"MAC"}
        return s if with_hkg else s - {"HKG"}

    print(f"countries.csv: {len(recs)} rows; demand_weight > 0: {nonzero}; sum = {sum(dec.values())}")
    print(f"country_groups.csv: {len(group_rows)} rows")
    for grp in EXPECTED_GROUP_SIZES:
        m = members_on(group_rows, grp, jan)
        print(f"  {grp} on {jan}: {len(m - {'HKG'})} (+HKG: {len(m)})")
    lic = licence_set(jan, False)
    lic_h = licence_set(jan, True)
    t3 = members_on(group_rows, "D:5", jan) - {"HKG"}
    print(f"CHECK (D:1|D:4|D:5)-(A:5|A:6)+MAC on {jan}: {len(lic)} (expect 46); with HKG: {len(lic_h)} (expect 47)")
    print(
        f"CHECK D:5 on {jan}: {len(t3)} (expect 23); +MAC = {len(t3 | {'MAC'})} "
        f"(expect 24); +MAC+HKG = {len(t3 | {'MAC', 'HKG'})} (expect 25)"
    )
    assert (len(lic), len(lic_h), len(t3)) == (46, 47, 23)
    assert len(t3 | {"MAC"}) == 24 and len(t3 | {"MAC", "HKG"}) == 25
    for day, exp in (("2023-11-17", 45), ("2026-07-23", 45)):
        n = len(licence_set(day, False))
        print(f"  licence set on {day}: {n} (expected {exp})")
        assert n == exp, (day, n)
    print("top 15 demand weights:")
    for a3 in sorted(weights, key=lambda k: (-weights[k], k))[:15]:
        print(f"  {a3} {recs[a3]['name']:<28} {weights[a3]:.4f}")
    print("non-default diversion risks:")
    for a3 in sorted(DIVERSION):
        print(f"  {a3} {DIVERSION[a3][0]:g}")


if __name__ == "__main__":
    main()
