"""sim/limitations.toml, the single source of the model's limitations: every entry validates, docs/limitations.md's
table is generated from it, a report's outputs select entries, and a malformed entry is refused naming its key."""

from pathlib import Path

import pytest

from sim import limitations

DOC = Path(__file__).resolve().parents[1] / "docs" / "limitations.md"

GOOD = """\
[[limitation]]
name = "Timing"
model = "Quarters"
bias = "Shifted by up to half a quarter"
bears_on = ["quota_exhaustion", "comparison"]
"""


def test_docs_table_is_generated_from_the_toml():
    text = DOC.read_text(encoding="utf-8")
    table = limitations.markdown_table()
    assert table in text, "docs/limitations.md is stale: replace its table with `python -m sim.limitations`"
    assert limitations.NOTE + "\n" + table in text
    header = "| limitation | what the model does instead | bias on the headline results |\n|---|---|---|\n"
    assert table.startswith(header) and "| **Smuggling** | Smugglers serve" in table


def test_every_entry_validates_and_every_output_has_one():
    entries = limitations.load()
    assert len(entries) >= 20
    for e in entries:
        assert set(e) == set(limitations.KEYS)
        assert all(isinstance(e[k], str) and e[k].strip() for k in ("name", "model", "bias"))
        assert e["bears_on"] and set(e["bears_on"]) <= set(limitations.VOCABULARY)
    assert {o for e in entries for o in e["bears_on"]} == set(limitations.VOCABULARY)


def test_the_vocabulary_covers_the_report_figures():
    from sim.figures import FIGURES

    assert set(FIGURES) <= set(limitations.VOCABULARY)


def test_bearing_on_selects_entries_in_file_order():
    found = limitations.bearing_on({"quota_exhaustion"})
    assert found and all("quota_exhaustion" in e["bears_on"] for e in found)
    names = [e["name"] for e in limitations.load()]
    assert [e["name"] for e in found] == [n for n in names if n in {e["name"] for e in found}]
    assert "Allocations after 2027" in [e["name"] for e in found]
    assert len(limitations.bearing_on(set(limitations.VOCABULARY))) == len(names)
    assert limitations.bearing_on(set()) == []
    with pytest.raises(ValueError, match="quota_exhuastion"):
        limitations.bearing_on({"quota_exhuastion"})


def test_a_good_entry_parses(tmp_path):
    path = tmp_path / "limitations.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert limitations.parse(path.read_text(encoding="utf-8"), str(path))[0]["name"] == "Timing"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('model = "Quarters"\n', "", "model: missing"),
        ('model = "Quarters"', 'model = "Quarters"\nsource = "x"', "source: unknown key"),
        ('bias = "Shifted by up to half a quarter"', 'bias = "  "', "bias"),
        ('model = "Quarters"', "model = 3", "model"),
        ('model = "Quarters"', 'model = "a | b"', "model"),
        ('bears_on = ["quota_exhaustion", "comparison"]', "bears_on = []", "bears_on"),
        ('"comparison"]', '"comparisons"]', "bears_on"),
        ('"comparison"]', '"quota_exhaustion"]', "bears_on"),
        ('bears_on = ["quota_exhaustion", "comparison"]', 'bears_on = "comparison"', "bears_on"),
    ],
    ids=["missing", "unknown key", "blank", "not a string", "pipe", "no outputs", "unknown output", "repeat", "string"],
)
def test_a_malformed_entry_names_its_key(tmp_path, old, new, key):
    path, second = tmp_path / "limitations.toml", GOOD.replace("Timing", "Second")
    assert old in second
    path.write_text(GOOD + "\n" + second.replace(old, new), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"limitation 2 \('Second'\): {key}") as e:
        limitations.parse(path.read_text(encoding="utf-8"), str(path))
    assert str(path) in str(e.value)


def test_repeated_names_and_broken_files_are_refused():
    with pytest.raises(ValueError, match="limitation 2 .*name: repeats"):
        limitations.parse(GOOD + "\n" + GOOD, "x.toml")
    with pytest.raises(ValueError, match="x.toml: not valid TOML"):
        limitations.parse("[[limitation]\n", "x.toml")
    with pytest.raises(ValueError, match="only \\[\\[limitation\\]\\] entries"):
        limitations.parse('title = "x"\n' + GOOD, "x.toml")
