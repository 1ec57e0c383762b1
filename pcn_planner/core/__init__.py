"""Core: errors in planners' words, atomic files, validated tables and JSON helpers.

The bottom layer. It imports nothing else from pcn_planner.
"""
