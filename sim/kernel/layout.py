"""Index constants shared by the kernels, their reference twins and the metrics (plain Python ints)."""

# destination policies (regime files spell them free, licence, capped, deny)
FREE, LICENCE, CAPPED, DENY = 0, 1, 2, 3
POLICY_CODES = {"free": FREE, "licence": LICENCE, "capped": CAPPED, "deny": DENY}

# stock channels: how the chips in a country's stock got there
CH_INITIAL, CH_FREE, CH_LICENSED, CH_VEU, CH_DIVERTED, CH_DOMESTIC = range(6)
CHANNELS = ("initial", "licence_free", "licensed", "veu", "diverted", "domestic")

# flows per country and quarter, in H100e (dense 16-bit FLOP/s) unless noted
(FL_ORDERED, FL_SHIPPED, FL_DENIED, FL_PENDING, FL_UNMET, FL_GREY_IN, FL_DIVERTED_OUT,
 FL_DIVERTED_IN, FL_CAP_USED, FL_LPP) = range(10)
FLOWS = ("ordered", "shipped", "denied", "pending", "unmet", "grey_market_in", "diverted_out",
         "diverted_in", "allocation_used_h100e_tpp", "lpp_shipped")

# per-trial scalar inputs (columns of the params array) and the assumption each comes from
PARAMS = (
    ("demand.world_h100e_per_quarter", "P_DEMAND0"),
    ("demand.growth_per_year", "P_DEMAND_GROWTH"),
    ("supply.growth_per_year", "P_SUPPLY_GROWTH"),
    ("installed_base.world_h100e", "P_INSTALLED"),
    ("firms.size_exponent", "P_SIZE_EXP"),
    ("orders.size_sigma", "P_ORDER_SIGMA"),
    ("licence.approval_probability", "P_APPROVE"),
    ("licence.approval_probability_denial", "P_APPROVE_DENIAL"),
    ("licence.delay_quarters", "P_DELAY"),
    ("diversion.multiplier", "P_DIVERSION"),
    ("grey_market.capacity_h100e_per_quarter", "P_GREY"),
    ("service_life_quarters", "P_LIFE"),
)
(P_DEMAND0, P_DEMAND_GROWTH, P_SUPPLY_GROWTH, P_INSTALLED, P_SIZE_EXP, P_ORDER_SIGMA, P_APPROVE,
 P_APPROVE_DENIAL, P_DELAY, P_DIVERSION, P_GREY, P_LIFE) = range(len(PARAMS))

VENDORS = ("NVIDIA", "AMD", "Intel", "Huawei")
SUPPLY_PARAMS = tuple(f"supply.{v.lower()}_h100e_per_quarter" for v in VENDORS)
CHINA_ONLY_VENDORS = ("Huawei",)   # Ascend output is sold only to Chinese buyers

GROUP_WORLD, GROUP_CHINA = 0, 1
ZTAB_BITS = 12                      # order-size noise: standard-normal quantile table of 4096 entries
H100_TPP = 15_832.0
