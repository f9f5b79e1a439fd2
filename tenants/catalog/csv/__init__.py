"""Product CSV import and export, in Shopify's product CSV layout (see `layout`).

An import goes through five steps, each in the module named after it:

1. `read`: the upload is read as text and its header checked (`read_upload`, which the
   form shows as a field error), then parsed into rows keyed by Shopify's column names.
2. `plan` (with `plan_fields` and `plan_variants`): every row is checked against the
   shop, changing nothing, and the file becomes an `ImportPlan`: per product what to
   create or update, with the problems that stop the import and notes that do not.
3. `runs.preview`: the dry run. The plan's findings are kept as a `ProductImport` row for
   the merchant to read; only a file without problems is kept to be imported.
4. `runs.confirm`: the merchant starts the import; the view enqueues `runs.run_import`
   once that is committed.
5. `runs.run_import`, an RQ job: it checks the file again (the catalog may have changed
   since the preview) and applies each planned product (`apply.apply_product`) in one
   savepoint: any failure leaves the catalog as it was, and the run records why.

What an import changes. Products are matched by Handle: a new handle creates a product,
a known one updates it. Only the columns the file has are applied, so a file of just
Handle, Variant SKU and Variant Inventory Qty updates stock and nothing else; an empty
cell in a column the file has clears that field, except Title, Status and prices, which
keep their value. Variants are matched by SKU, then by their option values; variants not
in the file are kept, unless the file gives the product different options, when they
no longer fit and are removed. Stock changes go into the stock history as corrections
noted "CSV import".

`export` writes the same layout, so an export imports back. Callers import each name from
the module that owns it: this package re-exports nothing.
"""
