"""What a shop's two kinds of accounts have in common: staff (the back office) and
customers (the storefront).

Both log in with an email and a password behind the same rate limits, reset a forgotten
password through a single-use mailed link, change it while logged in, and lose every
other session when it changes. The rules live here once; `tenants.staff.services` and
`tenants.customers.services` keep what is their own (who may log in, what the emails
say, invitations, guest orders) and describe themselves to these modules with an
`AccountKind`. Like any domain package, nothing here imports a door.
"""
