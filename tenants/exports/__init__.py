"""Exports of a shop's lists (orders, customers) as CSV files, made by a job.

A merchant asks for the list as it is filtered; `runs.start` keeps the filters as an
`ExportRun`, and the job `runs.run_export` writes the file with the list's own query
(each kind's `Exporter`, in the domain that owns the list: `tenants.orders.export`,
`tenants.customers.export`), recording its progress for the run's page. The file is
kept on the run, in the shop's schema, for `KEEP_DAYS`, and downloaded from the back
office by staff who may open that list. Every cell goes through
`saas.spreadsheet.safe_cell`.
"""
