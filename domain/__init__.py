"""What every domain app shares and nothing else: the base of the errors a business rule raises.
Imports no app and no web framework."""
