"""Scripted edits a team makes to its rendered project on day two, following its README.

Shared by the template tests that check a team can own its project: the rendered suite must
still pass after these edits (test_rendered_project.py), and `copier update` must keep every one
of them (test_update.py). Each edit changes business behaviour on the bundled sample (more
rows filtered, more quarantined, a new warning, a new column), so a template-owned test
that hard-codes the sample's counts fails on it, as a team's edit would make it fail.

Interface: `apply_team_edits(project)` then `assert_team_edits_kept(project)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ANSWERS_FILE = ".copier-answers.yml"

# --- transforms/orders.py: a new filter step and a new derived column, per engine ---------
# The step functions are appended to the module; `transform` gains them after its own steps.
_NEW_STEPS: dict[str, str] = {
    "polars": '''

def drop_cancelled_orders(orders: pl.LazyFrame) -> pl.LazyFrame:
    """Cancelled orders are not revenue: keep them out of the dataset (team edit)."""
    return orders.filter(~pl.col("status").eq_missing("cancelled"))


def flag_large_orders(orders: pl.LazyFrame) -> pl.LazyFrame:
    """Flag orders of 100 EUR or more for the sales dashboard (team edit)."""
    return orders.with_columns(pl.col("amount_eur").ge(100).alias("is_large_order"))
''',
    "pandas": '''

def drop_cancelled_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Cancelled orders are not revenue: keep them out of the dataset (team edit)."""
    return orders.loc[~(orders["status"] == "cancelled").fillna(False).astype(bool)]


def flag_large_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Flag orders of 100 EUR or more for the sales dashboard (team edit)."""
    return orders.assign(is_large_order=orders["amount_eur"] >= 100)
''',
    "dask": '''

def drop_cancelled_orders(orders: dd.DataFrame) -> dd.DataFrame:
    """Cancelled orders are not revenue: keep them out of the dataset (team edit)."""
    return orders[(orders["status"] == "cancelled").fillna(False).astype(bool).eq(False)]


def flag_large_orders(orders: dd.DataFrame) -> dd.DataFrame:
    """Flag orders of 100 EUR or more for the sales dashboard (team edit)."""
    return orders.assign(is_large_order=orders["amount_eur"] >= 100)
''',
    "spark": '''

def drop_cancelled_orders(orders: DataFrame) -> DataFrame:
    """Cancelled orders are not revenue: keep them out of the dataset (team edit)."""
    return orders.where(~F.col("status").eqNullSafe("cancelled"))


def flag_large_orders(orders: DataFrame) -> DataFrame:
    """Flag orders of 100 EUR or more for the sales dashboard (team edit)."""
    return orders.withColumn("is_large_order", F.col("amount_eur") >= 100)
''',
}
# The body of `transform` after its one-line docstring, in each engine, becomes this.
_TRANSFORM_BODY = re.compile(r'(\ndef transform\(.*?\n    """[^\n]*"""\n)(.*)\Z', re.DOTALL)
_NEW_TRANSFORM_RETURN: dict[str, str] = {
    "polars": "    business = orders.pipe(normalise_codes).pipe(derive_columns)\n"
    "    business = business.pipe(keep_business_orders)\n"
    "    return business.pipe(drop_cancelled_orders).pipe(flag_large_orders)\n",
    "spark": "    business = orders.transform(normalise_codes).transform(derive_columns)\n"
    "    business = business.transform(keep_business_orders)\n"
    "    return business.transform(drop_cancelled_orders).transform(flag_large_orders)\n",
}
_NEW_TRANSFORM_RETURN["pandas"] = _NEW_TRANSFORM_RETURN["dask"] = _NEW_TRANSFORM_RETURN["polars"]

# --- validation/rules.py: a quarantine rule and a warn rule -----------------------------------
_NEW_RULES = """    Rule("STATUS_MISSING", Severity.QUARANTINE, NotNull("status")),
    Rule(
        "LARGE_ORDER_REVIEW",
        Severity.WARN,
        InRange("amount_eur", max=500),
        description="orders over 500 EUR get a manual review (team edit)",
    ),
"""

# --- contracts/orders.py: an optional column the sample does not carry yet -----------------
_NEW_COLUMN = (
    '        Column("sales_channel", ColumnType.STRING, required=False, '
    'description="web or store"),\n'
)

# --- the team's own test file ----------------------------------------------------------------
TEAM_TEST_FILE = "tests/test_team_rules.py"
_TEAM_TEST = '''"""The team's own tests of its rule set and contract (team edit)."""

from __future__ import annotations

from {package}.contracts.orders import ORDERS
from {package}.validation.model import Severity
from {package}.validation.rules import RULES


def test_an_order_without_status_is_quarantined() -> None:
    severities = {{rule.code: rule.severity for rule in RULES}}
    assert severities["STATUS_MISSING"] is Severity.QUARANTINE
    assert severities["LARGE_ORDER_REVIEW"] is Severity.WARN


def test_the_sales_channel_is_an_optional_column() -> None:
    columns = {{column.name: column for column in ORDERS.columns}}
    assert columns["sales_channel"].required is False
'''

README_LINE = "On call for this pipeline: #orders-data-oncall (team edit)."
DEPENDENCY_LINE = '    "annotated-types>=0.6",  # team edit: already in the lock via pydantic\n'
CONFIG_EDITS = (
    # (what the rendering holds, what the team sets): the first one present is applied.
    ("retention_hours = 168", "retention_hours = 336"),  # two weeks of time travel
    ('log_level = "INFO"', 'log_level = "WARNING"'),
)


@dataclass(frozen=True)
class TeamFiles:
    """The files the team edits, located from the project's answers."""

    project: Path
    engine: str
    package: str

    @classmethod
    def of(cls, project: Path) -> TeamFiles:
        """Read the engine and package name from the project's answers file."""
        answers = yaml.safe_load((project / ANSWERS_FILE).read_text())
        return cls(project, str(answers["engine"]), str(answers["package_name"]))

    @property
    def package_dir(self) -> Path:
        """The pipeline package."""
        return self.project / "src" / self.package

    @property
    def transforms(self) -> Path:
        """The team's transformations."""
        return self.package_dir / "transforms" / "orders.py"

    @property
    def rules(self) -> Path:
        """The team's validation rules."""
        return self.package_dir / "validation" / "rules.py"

    @property
    def contract(self) -> Path:
        """The team's source contract."""
        return self.package_dir / "contracts" / "orders.py"


def _replace_once(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in `path`; refuse when it is not exactly one, so a
    changed rendering fails here, by name, rather than as an odd failure later."""
    text = path.read_text()
    found = text.count(old)
    if found != 1:
        raise AssertionError(f"{path}: expected one {old!r}, found {found}")
    path.write_text(text.replace(old, new))


def edit_transforms(files: TeamFiles) -> None:
    """Drop cancelled orders and flag large ones, chained after the existing steps."""
    text = files.transforms.read_text()
    match = _TRANSFORM_BODY.search(text)
    if match is None:
        raise AssertionError(f"{files.transforms}: `transform` is not the module's last function")
    text = text[: match.end(1)] + _NEW_TRANSFORM_RETURN[files.engine]
    files.transforms.write_text(text + _NEW_STEPS[files.engine])


def edit_rules(files: TeamFiles) -> None:
    """Add a quarantine rule and a warn rule at the end of RULES."""
    text = files.rules.read_text()
    if not text.endswith("\n)\n"):
        raise AssertionError(f"{files.rules}: RULES is not the file's last statement")
    files.rules.write_text(text[: -len(")\n")] + _NEW_RULES + ")\n")


def edit_contract(files: TeamFiles) -> None:
    """Declare an optional column after the last one."""
    _replace_once(files.contract, "    ),\n    key=", _NEW_COLUMN + "    ),\n    key=")


def edit_config(files: TeamFiles) -> None:
    """Change one value in pipeline.toml (the first of CONFIG_EDITS the rendering holds)."""
    config = files.project / "pipeline.toml"
    text = config.read_text()
    for old, new in CONFIG_EDITS:
        if old in text:
            _replace_once(config, old, new)
            return
    raise AssertionError(f"{config}: none of {[old for old, _ in CONFIG_EDITS]} found")


def add_team_test(files: TeamFiles) -> None:
    """A new test file of the team's own."""
    (files.project / TEAM_TEST_FILE).write_text(_TEAM_TEST.format(package=files.package))


def edit_readme(files: TeamFiles) -> None:
    """A line of the team's own at the end of the README."""
    readme = files.project / "README.md"
    readme.write_text(readme.read_text() + f"\n{README_LINE}\n")


def add_dependency(files: TeamFiles) -> None:
    """A small pure-Python dependency (already in the lock, so no new download)."""
    _replace_once(
        files.project / "pyproject.toml",
        "dependencies = [\n",
        "dependencies = [\n" + DEPENDENCY_LINE,
    )


def apply_team_edits(project: Path) -> None:
    """Make every scripted team edit in the rendered `project`."""
    files = TeamFiles.of(project)
    edit_transforms(files)
    edit_rules(files)
    edit_contract(files)
    edit_config(files)
    add_team_test(files)
    edit_readme(files)
    add_dependency(files)


def assert_team_edits_kept(project: Path) -> None:
    """Every edit of `apply_team_edits` is still in `project` (after an update, say)."""
    files = TeamFiles.of(project)
    transforms = files.transforms.read_text()
    assert _NEW_STEPS[files.engine].strip() in transforms, "transform steps lost"
    assert _NEW_TRANSFORM_RETURN[files.engine] in transforms, "transform chain lost"
    assert _NEW_RULES in files.rules.read_text(), "team rules lost"
    assert _NEW_COLUMN in files.contract.read_text(), "contract column lost"
    config = (project / "pipeline.toml").read_text()
    assert any(new in config for _, new in CONFIG_EDITS), "pipeline.toml edit lost"
    team_test = project / TEAM_TEST_FILE
    assert team_test.read_text() == _TEAM_TEST.format(package=files.package), "team test lost"
    assert README_LINE in (project / "README.md").read_text(), "README line lost"
    assert DEPENDENCY_LINE in (project / "pyproject.toml").read_text(), "dependency lost"
