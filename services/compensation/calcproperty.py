"""The items of a household's buildings and what stands on its land: building and location value, decoration,
residential business, ancillary items, the small-home subsidy and the minimum compensation."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.compensation import labels
from services.compensation.calcbase import Run, _rate, _with_ratio, _words, newness_rate, percent
from services.compensation.rules import catalogue_items, fmt2
from services.errors import InvalidInput
from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "ancillary_unknown": N_("unknown ancillary code '%(code)s'"),
    "ancillary_items_unknown": N_("unknown ancillary items"),
    "year_built_needed": N_("the replacement method needs the year '%(building)s' was built"),
    "valuation_year_needed": N_("the replacement method needs the valuation year or the signing date"),
    "basis.replacement": N_("%(area)s㎡ × replacement price %(price)s元/㎡ × newness %(newness)s (built %(year)s, "
                            "%(life)s-year life, at least %(floor)s)"),
    "basis.location": N_("%(area)s㎡ × location value %(price)s元/㎡"),
    "basis.appraised_decoration": N_("appraised decoration value %(value)s元"),
    "basis.appraised_ancillary": N_("appraised value of the ancillary items and structures %(value)s元"),
    "basis.not_in_catalogue": N_("%(count)s %(unit)s: not in the catalogue of the policy used, no rate"),
    "basis.small_home": N_("(minimum area %(min)s㎡ − legal area %(area)s㎡) × %(price)s元/㎡"),
    "basis.minimum": N_("minimum %(min)s元 − building compensation %(value)s元"),
    "basis.per_area": N_("%(area)s㎡ × %(rate)s元/㎡"),
    "basis.share_of_value": N_("%(rate)s × building value %(value)s元"),
})


class PropertyItems(Run):
    """The items of the buildings and the land."""

    def buildings(self) -> None:
        ratios = self.rules.get("building_ratio")
        uses = set(self.interruption_rules().get("uses") or ())
        replacement = self.section("building_value_method") == "replacement"
        for number, b in enumerate(self.data.buildings, 1):
            ratio = _rate(ratios, b.legal_status, f"household.buildings.{number - 1}.legal_status")
            if replacement:
                amount, basis = self._replacement(number, b)
            else:
                amount, basis = b.area * b.unit_price, f"{fmt2(b.area)}㎡ × {fmt2(b.unit_price)}元/㎡"
            value = self.add(f"building_value.{number}", labels.building_value(number, b.legal_status, b.label),
                             _with_ratio(basis, ratio), amount * ratio)
            self.building_total += value
            if replacement:
                self._location(number, b, ratio)
            if ratio > 0:
                self.eligible_area += b.area
            if b.use in uses:
                self.has_business = True
                self.business_value += value
            if b.run_as_business and b.use == "residential" and ratio > 0:
                self._residential_business(number, b, value)

    def _replacement(self, number: int, b: Any) -> tuple[Decimal, Any]:
        """Replacement price × newness rate (成新率: 1 − age / useful life, two places, not below the floor)."""
        table = self.section("replacement")
        field = f"household.buildings.{number - 1}"
        price = _rate(table.get("price"), b.structure, f"{field}.structure")
        life = int(_rate(table.get("useful_life"), b.structure, f"{field}.structure"))
        floor = _rate(table, "floor_rate", f"{field}.structure")
        year = self.data.valuation_year or (self.data.signed_on.year if self.data.signed_on else None)
        if b.year_built is None:
            raise InvalidInput(problem("year_built_needed", building=b.label or number),
                               {f"{field}.year_built": [problem("year_built_needed", building=b.label or number)]})
        if year is None:
            raise InvalidInput(problem("valuation_year_needed"),
                               {"household.valuation_year": [problem("valuation_year_needed")]})
        newness = newness_rate(year - b.year_built, life, floor)
        basis = _words("basis.replacement", area=fmt2(b.area), price=fmt2(price), newness=percent(newness),
                        year=b.year_built, life=life, floor=percent(floor))
        return b.area * price * newness, basis

    def _location(self, number: int, b: Any, ratio: Decimal) -> None:
        price = _rate(self.section("replacement"), "location_price", "household.buildings")
        if price <= 0 or ratio <= 0:
            return
        basis = _words("basis.location", area=fmt2(b.area), price=fmt2(price))
        self.building_total += self.add(f"location_value.{number}", labels.location_value(b.label, number),
                                        _with_ratio(basis, ratio), b.area * price * ratio)

    def _residential_business(self, number: int, b: Any, value: Decimal) -> None:
        table = self.section("residential_business")
        per_area = _rate(table, "per_area", "household.buildings")
        rate = _rate(table, "rate", "household.buildings")
        parts = []
        if per_area > 0:
            parts.append(_words("basis.per_area", area=fmt2(b.area), rate=fmt2(per_area)))
        if rate > 0:
            parts.append(_words("basis.share_of_value", rate=percent(rate), value=fmt2(value)))
        if parts:
            basis = labels.Joined(*[p for part in parts for p in (" + ", part)][1:])
            self.add(f"residential_business.{number}", labels.residential_business(b.label, number), basis,
                     b.area * per_area + value * rate)

    def decoration(self) -> None:
        rates = self.rules.get("decoration_rate")
        ratios = self.rules.get("building_ratio")
        appraised = bool(self.section("use_appraised").get("decoration"))
        for number, b in enumerate(self.data.buildings, 1):
            if _rate(ratios, b.legal_status, f"household.buildings.{number - 1}.legal_status") <= 0:
                continue
            label = labels.decoration(number, b.structure, b.label)
            if appraised and b.decoration_value is not None:
                self.shared(f"decoration.{number}", label,
                            _words("basis.appraised_decoration", value=fmt2(b.decoration_value)), b.decoration_value,
                            "decoration")
                continue
            rate = _rate(rates, b.structure, f"household.buildings.{number - 1}.structure")
            self.shared(f"decoration.{number}", label, f"{fmt2(b.area)}㎡ × {fmt2(rate)}元/㎡", b.area * rate,
                        "decoration")

    def ancillary(self) -> None:
        if self.section("use_appraised").get("ancillary") and self.data.ancillary_value is not None:
            self.add("ancillary.appraised", labels.APPRAISED_ANCILLARY,
                     _words("basis.appraised_ancillary", value=fmt2(self.data.ancillary_value)),
                     self.data.ancillary_value)
            return
        catalogue = {i["code"]: i for i in catalogue_items(self.rules)}
        counts: dict[str, int] = {}
        names: dict[str, str] = {}
        problems: dict[str, list[str]] = {}
        for index, line in enumerate(self.data.ancillary):
            if line.code not in catalogue and not line.name:
                problems[f"household.ancillary.{index}.code"] = [problem("ancillary_unknown", code=line.code)]
            counts[line.code] = counts.get(line.code, 0) + line.count
            names[line.code] = line.name
        if problems:
            raise InvalidInput(problem("ancillary_items_unknown"), problems)
        for code, count in counts.items():
            item = catalogue.get(code)
            if item is None:  # a stored survey's item the policy used no longer lists: shown, flagged, unpaid
                self.add(f"ancillary.{code}", labels.Named({"name_zh": names[code]}, labels.NOT_IN_CATALOGUE),
                         _words("basis.not_in_catalogue", count=count, unit=""), Decimal(0))
                continue
            rate = _rate(item, "rate", "household.ancillary")
            unit = item.get("unit") or ""
            basis = f"{count}{unit} × {fmt2(rate)}元/{unit}" if item.get("group") == "structure" and unit \
                else f"{count} × {fmt2(rate)}元"
            self.add(f"ancillary.{code}", labels.Named(item), basis, count * rate)

    def small_home(self) -> None:
        table = self.section("small_home")
        least = _rate(table, "min_area", "household.buildings")
        if least <= 0 or self.data.kind not in ("collective_house", "state_house") or self.eligible_area >= least:
            return
        price = _rate(table, "price", "household.buildings")
        self.building_total += self.add(
            "small_home", labels.SMALL_HOME,
            _words("basis.small_home", min=fmt2(least), area=fmt2(self.eligible_area), price=fmt2(price)),
            (least - self.eligible_area) * price)

    def minimum(self) -> None:
        least = _rate(self.section("minimum_compensation"), "amount", "household.buildings")
        if least <= 0 or self.building_total >= least:
            return
        self.add("minimum_compensation", labels.MINIMUM_COMPENSATION,
                 _words("basis.minimum", min=fmt2(least), value=fmt2(self.building_total)),
                 least - self.building_total)
