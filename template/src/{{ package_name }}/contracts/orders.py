"""The orders source contract. Yours to change: `copier update` never overwrites this file."""

from __future__ import annotations

from ..pipeline.contract import Column, ColumnType, DatasetContract

ORDERS = DatasetContract(
    name="orders",
    columns=(
        Column("order_id", ColumnType.STRING, description="Business key of the order"),
        Column("customer_id", ColumnType.STRING),
        Column("ordered_at", ColumnType.TIMESTAMP, description="When the order was placed"),
        Column("amount", ColumnType.FLOAT, description="Order total in `currency`"),
        Column("currency", ColumnType.STRING, description="ISO-4217 code"),
        Column("country", ColumnType.STRING, required=False, description="ISO-3166 alpha-2"),
        Column("status", ColumnType.STRING),
        Column("coupon_code", ColumnType.STRING, required=False),
    ),
    key=("order_id",),
    partition_by="order_date",
)
