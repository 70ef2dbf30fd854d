"""lowalt.store"""
