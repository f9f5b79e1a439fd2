"""Country data: countries, currencies, subdivisions and address formats.

The tables are JSON files in `data/`, read once each by the functions of
`tenants.geo.loader`; the rules that use them (validation, display) are in
`tenants.geo.addresses` and `tenants.settings.services`.
"""
