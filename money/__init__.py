"""Money and quantity: the primitives (`ZERO`, `round_cents`, the precisions) and, in
`money.fields`, the one definition of every money, quantity and rate field."""
