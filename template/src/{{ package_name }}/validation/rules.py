"""The team's data-quality rules for orders.

Yours to change: `copier update` never overwrites this file. Codes are stable identifiers
(dashboards, alerts and quarantine consumers key off them): add new ones, do not rename.
Values that cannot be read as their declared type are quarantined automatically with the
code `TYPE_MISMATCH:<column>`.
"""

from __future__ import annotations

from .model import AcceptedValues, InRange, NotNull, Rule, Severity

SUPPORTED_CURRENCIES = ("EUR", "USD", "GBP", "SEK", "CHF")

RULES: tuple[Rule, ...] = (
    Rule("ORDER_ID_MISSING", Severity.QUARANTINE, NotNull("order_id")),
    Rule("CUSTOMER_ID_MISSING", Severity.QUARANTINE, NotNull("customer_id")),
    Rule("ORDERED_AT_MISSING", Severity.QUARANTINE, NotNull("ordered_at")),
    Rule("AMOUNT_MISSING", Severity.QUARANTINE, NotNull("amount")),
    Rule("AMOUNT_NEGATIVE", Severity.QUARANTINE, InRange("amount", min=0)),
    Rule("CURRENCY_MISSING", Severity.QUARANTINE, NotNull("currency")),
    Rule(
        "CURRENCY_UNSUPPORTED",
        Severity.QUARANTINE,
        AcceptedValues("currency", SUPPORTED_CURRENCIES),
        description="no EUR rate for this currency",
    ),
    Rule("COUNTRY_MISSING", Severity.WARN, NotNull("country")),
    Rule(
        "AMOUNT_IMPLAUSIBLE",
        Severity.FAIL,
        InRange("amount", max=1_000_000),
        description="an order over 1M is an upstream unit bug (cents as euros); stop the run",
    ),
)
