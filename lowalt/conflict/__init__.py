"""lowalt.conflict"""
