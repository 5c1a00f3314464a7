"""Index constants shared by the kernel, its reference twin and the metrics (plain Python ints: numba
compiles them in as constants)."""

# destination policies (regime files spell them free, licence, capped, deny)
# licence_share: case-by-case licences while the destination's cumulative volume of a product stays within a
# share of US customers' volume of the same product; prohibited: no licence, no grey market, no substitute;
# embargo: a licence is required and none is granted (a policy of denial with no approvals: 15 CFR 746),
# refused demand goes to the grey market and to substitutes the rules let through
FREE, LICENCE, CAPPED, DENY, LICENCE_SHARE, PROHIBITED, EMBARGO = 0, 1, 2, 3, 4, 5, 6
POLICY_CODES = {
    "free": FREE,
    "licence": LICENCE,
    "capped": CAPPED,
    "deny": DENY,
    "licence_share": LICENCE_SHARE,
    "prohibited": PROHIBITED,
    "embargo": EMBARGO,
}

# stock channels: how the chips in a country's stock got there
# (diverted: bought legally elsewhere, then moved to a Tier-3 buyer; smuggled: refused demand served by smugglers)
CH_INITIAL, CH_FREE, CH_LICENSED, CH_VEU, CH_DIVERTED, CH_DOMESTIC, CH_SMUGGLED = range(7)
CHANNELS = ("initial", "licence_free", "licensed", "veu", "diverted", "domestic", "smuggled")

# flows per country and quarter, in H100e (dense 16-bit FLOP/s) unless noted. Conservation, cumulated
# over quarters: ordered = shipped + denied + lapsed + pending + backlog (pending and backlog are stocks
# at quarter end). "ordered" includes substitute purchases (also reported as "substitute").
(
    FL_ORDERED,
    FL_SHIPPED,
    FL_DENIED,
    FL_PENDING,
    FL_BACKLOG,
    FL_LAPSED,
    FL_UNMET,
    FL_SMUGGLED,
    FL_SUBSTITUTE,
    FL_DIVERTED_OUT,
    FL_DIVERTED_IN,
    FL_CAP_USED,
    FL_LPP,
) = range(13)
FLOWS = (
    "ordered",
    "shipped",
    "denied",
    "pending",
    "backlog",
    "lapsed",
    "unmet",
    "smuggled",
    "substitute",
    "diverted_out",
    "diverted_in",
    "allocation_used_h100e_tpp",
    "lpp_shipped",
)
FLOW_NOTES = {
    "ordered": "new demand placed in the quarter, plus substitute purchases",
    "shipped": "delivered to the territory in the quarter (including what is then diverted)",
    "denied": "refused by the rules (licence denied, beyond the allocation, presumption of denial)",
    "pending": "licensed, awaiting the licence decision and delivery, at quarter end",
    "backlog": "waiting for vendor supply at quarter end (re-ordered next quarter)",
    "lapsed": "dropped after waiting a quarter for supply",
    "unmet": "denied and not replaced by smuggled chips or a substitute chip",
    "smuggled": "refused demand served by smugglers (the grey market)",
    "substitute": "fallback chips bought in place of denied ones",
    "diverted_out": "shipped to the territory, then diverted to Tier-3 buyers",
    "diverted_in": "received through diversion",
    "allocation_used_h100e_tpp": "national allocation used, cumulative, H100e by TPP",
    "lpp_shipped": "shipped under License Exception LPP",
}

# per-trial scalar inputs (columns of the params array) and the assumption each comes from
PARAMS = (
    ("installed_base.world_h100e", "P_INSTALLED"),
    ("firms.size_exponent", "P_SIZE_EXP"),
    ("orders.size_sigma", "P_ORDER_SIGMA"),
    ("licence.approval_probability", "P_APPROVE"),
    ("licence.approval_probability_denial", "P_APPROVE_DENIAL"),
    ("licence.delay_quarters", "P_DELAY"),
    ("diversion.multiplier", "P_DIVERSION"),
    ("service_life_quarters", "P_LIFE"),
    ("enforcement.guidance_diversion_cut", "P_CUT_GUIDANCE"),
    ("enforcement.location_verification_cut", "P_CUT_LV"),
    ("roadmap.slip_quarters", "P_SLIP"),
    ("substitution.chips_per_refused_chip", "P_SUBST"),
    ("huawei_abroad.share_of_demand", "P_HW_ABROAD"),
    ("smuggling.take_up", "P_SMUGGLE"),
    ("cluster.build_window_quarters", "P_WINDOW"),
    ("cluster.initial_current_generation_share", "P_INIT_CURRENT"),
    ("cluster.colocated_share", "P_COLOC"),
)
(
    P_INSTALLED,
    P_SIZE_EXP,
    P_ORDER_SIGMA,
    P_APPROVE,
    P_APPROVE_DENIAL,
    P_DELAY,
    P_DIVERSION,
    P_LIFE,
    P_CUT_GUIDANCE,
    P_CUT_LV,
    P_SLIP,
    P_SUBST,
    P_HW_ABROAD,
    P_SMUGGLE,
    P_WINDOW,
    P_INIT_CURRENT,
    P_COLOC,
) = range(len(PARAMS))

VENDORS = ("NVIDIA", "AMD", "Intel", "Huawei", "Google", "Amazon")
# reporting families of chips (chips.csv column ``family``): stocks are also kept by family, so a run tells
# e.g. China's H20-class chips from its Ascend or its flagship NVIDIA parts
FAMILIES = ("nvidia", "china_2022", "h20_class", "amd", "intel", "huawei", "google", "amazon")
FAM_NVIDIA = 0  # the family of an initial base's current generation (Hopper: 77 % of NVIDIA compute, Feb 2025)
SUPPLY_PATHS = tuple(f"supply.{v.lower()}_h100e_per_quarter" for v in VENDORS)
CHINA_ONLY_VENDORS = ("Huawei",)  # Ascend: domestic to Chinese buyers; abroad only through the Huawei-abroad buyers
# vendors whose output path is in dense 16-bit H100e (Epoch's Huawei series; the 950/960 die areas are
# unknown); the others' paths are in capacity units, where a chip costs max(FLOP/s, die area) in H100 terms
FLOP_COSTED_VENDORS = ("Huawei",)

# per-trial, per-quarter inputs (columns of the quarterly array [T, Q, QT_SUPPLY + V]): world demand
# (H100e), grey-market capacity (H100e: grey_market.share_of_nvidia_output × NVIDIA's output), then each
# vendor's output (VENDORS order, units as above)
QT_DEMAND, QT_GREY, QT_SUPPLY = 0, 1, 2

# columns of the national UVEU share limits (Rules.uveu_lim [Q, 3]): a UVEU may hold at most this share of
# its TPP outside Tier-1 territories, in any one such territory, and (if headquartered in the US) outside the US
UV_OUTSIDE_TIER1, UV_ONE_TERRITORY, UV_OUTSIDE_US = 0, 1, 2

GROUP_WORLD, GROUP_CHINA = 0, 1
TINY_H100E = 1e-6  # a firm stock below this (H100e) is a rounding residue of its retirement window: zero
ZTAB_BITS = 12  # order-size noise: standard-normal quantile table of 4096 entries
ZTAB_MASK = (1 << ZTAB_BITS) - 1
H100_TPP = 15_832.0

# one 64-bit draw per order: bits 0-15 pick the chip-mix column, 16-27 the order-size quantile
# (ZTAB_BITS wide), 32-47 the licence decision, 48-63 the alias-method threshold
U_SIZE_SHIFT, U_LICENCE_SHIFT, U_ALIAS_SHIFT = 16, 32, 48
U16_MASK = 0xFFFF
# an eligible buyer's order goes to the Huawei-abroad mix row when a second hash of its draw, splitmix64(u ^
# HW_KEY) >> 11 as a uniform in [0, 1) (53 bits), falls below the trial's huawei_abroad share
HW_KEY = 0x5851F42D4C957F2D

# columns of the kernel's per-firm state within a quarter (one cache line per firm): expected size of the
# firm's next order (H100e), volume per order that already waited a quarter for supply, volume waiting
# for next quarter's supply, then (from FS_DELIVERED, after a pad column) the volume delivered this quarter by
# chip family: the row the order already touches, moved to State.firm_add when the quarter closes
FS_EXPECTED, FS_WAITING, FS_BACKLOG = range(3)
FS_DELIVERED = 4
FS_COLUMNS = FS_DELIVERED + len(FAMILIES)
