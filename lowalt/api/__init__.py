"""lowalt.api"""
