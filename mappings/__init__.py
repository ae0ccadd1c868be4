"""Canonical model, X12 guides as data, and translations between format trees and canonical documents."""
