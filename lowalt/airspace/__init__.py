"""lowalt.airspace"""
