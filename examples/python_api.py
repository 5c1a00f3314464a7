"""The Python API in a few lines (sim/api.py): a scenario as a model with its uncertainties, levers and
outcomes; a run with a lever set; a comparison on common random numbers; a sweep; a sensitivity screen.
Small trial counts so it runs in a minute; the tests execute it (tests/test_api.py)."""

import polars as pl

import sim
from sim.examples import path

model = sim.Model(path("diffusion_2025"))
print(model.uncertainties.sort("name").head(5))
print(model.levers.filter(pl.col("name").str.starts_with("caps.")))

# China's and Other Tier 2's installed compute at the end of 2027, with the Tier-2 national allocation doubled
doubled = model.run(trials=20, levers={"caps.country_allocation_tpp": 2 * 790e6})
print(
    doubled.filter(
        pl.col("metric").eq("compute_h100e") & pl.col("region").is_in(["China", "Other Tier 2"]),
        pl.col("quarter").eq("2027Q4") & pl.col("statistic").eq("p50"),
    )
)

# the Diffusion rule against its rescission: paired differences in China's largest trainable run
pairs = sim.compare([path("diffusion_2025"), path("rescission_2025")], trials=20)
print(
    pairs.filter(
        pl.col("metric").eq("largest_run_flop") & pl.col("region").eq("China") & pl.col("quarter").eq("2027Q4")
    )
)

# a sweep of the allocation, and a Morris screen of two inputs
table = sim.sweep(path("diffusion_2025"), {"caps.country_allocation_tpp": [395e6, 1.58e9]}, trials=10)
print(
    table.filter(
        pl.col("metric").eq("compute_h100e") & pl.col("region").eq("Other Tier 2") & pl.col("quarter").eq("2027Q4")
    )
)
indices = sim.sensitivity(
    path("default"), method="morris", n=2, inputs=["smuggling.base_take_up", "grey_market.share_of_nvidia_output"]
)
print(indices.filter(pl.col("metric").eq("compute_h100e") & pl.col("region").eq("China")))
