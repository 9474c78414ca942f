"""The pricebook's refusals (mapped to problem+json by the API's exception handler)."""

from __future__ import annotations

from domain.errors import Forbidden


class StoresForbidden(Forbidden):
    """A manager named, or tried to change something that covers, a store that is not theirs
    (a price list or promotion for every store is for admins)."""

    default_detail = (
        "A manager may only write price lists and promotions that cover none but their own "
        "stores (one for every store is for admins)."
    )
