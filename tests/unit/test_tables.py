from dataclasses import fields

from product_service.domain.model import Sku
from product_service.infrastructure.db.tables import skus


def test_the_skus_columns_are_the_sku_fields_in_their_order() -> None:
    # repositories._sku unpacks a row of select(skus) by position into a Sku.
    assert [column.name for column in skus.columns] == [field.name for field in fields(Sku)]
