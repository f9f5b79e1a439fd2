"""Everything that belongs to one merchant: its models, services, storefront and back office."""
