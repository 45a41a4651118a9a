"""What a viewer has narrowed the data to: period, facilities, suppliers, categories, departments.

Every question a dashboard asks takes a `Filters`; each question's SQL applies the filters at
its own grain (an invoice's supplier, a span's facility). `params()` gives the values to bind:
an empty choice is NULL, which the SQL reads as "all".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date


@dataclass(frozen=True)
class Filters:
    start: date | None = None          # first day included
    end: date | None = None            # last day included
    facilities: tuple[str, ...] = ()
    suppliers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()

    def within(self, scope: list[str] | None) -> "Filters":
        """These filters narrowed to the facilities a viewer may see (None: all)."""
        if scope is None:
            return self
        allowed = tuple(f for f in self.facilities if f in scope) if self.facilities else tuple(scope)
        return replace(self, facilities=allowed or ("(none)",))

    def params(self) -> dict:
        return {
            "start": self.start, "end": self.end,
            "facilities": list(self.facilities) or None, "suppliers": list(self.suppliers) or None,
            "categories": list(self.categories) or None, "departments": list(self.departments) or None,
        }


ALL = Filters()
