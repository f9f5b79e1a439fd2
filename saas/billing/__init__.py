"""Merchants' plans and what they pay for them.

* `standing` — where a shop stands with billing (trial, active, past due, closed) and
  the transitions between, which close and reopen the storefront;
* `limits` — what a plan allows (products, staff seats, custom domains, storage,
  features), checked where each limit bites, and what a downgrade would break;
* `prices`, `subscribe` — Stripe Billing: prices for plans, Checkout in subscription
  mode, plan changes with proration, cancel and resume, the customer portal;
* `sync`, `webhooks` — our rows follow Stripe through verified, idempotent webhooks;
  `reconcile` repairs any drift nightly;
* `dunning` — reminders, trial endings and the sweep cron runs;
* `manual` — billing without Stripe (the demo, or invoices paid by bank transfer):
  the operator records payments;
* `metrics` — MRR, churn and failed payments for the operator console.

With no Stripe keys the platform bills manually: plans, trials and limits all work,
and the pages say that online payments are not configured.
"""
