"""lowalt.geo"""
