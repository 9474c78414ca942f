"""Money and quantity. The primitives move here from posproject/money.py in this branch's last,
mechanical commit; `money.fields` holds the field definitions."""
