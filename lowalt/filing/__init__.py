"""lowalt.filing: flight plans, the 即报即飞 rules, 4D deconfliction and the filing service."""
